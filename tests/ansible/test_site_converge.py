"""The whole generated site.yml runs in check mode on a fresh test node without failing or touching
it, converges, and a second run changes nothing.

The node is a systemd container reached over SSH with the generated ansible.cfg and an inventory
written by the generated converter from a stand-in Terraform output; tests/ansible/testnode.py
lists how it differs from a Chameleon node (Debian 12, distribution Docker, GPU tool stand-ins on
GPU specs). Runs once per distinct ansible/ tree of the spec matrix. benchmarks/site_converge.py
records the wall times of the same two runs.
"""

from __future__ import annotations

import pytest

from tests import matrix
from tests.ansible.test_molecule import _docker_ready
from tests.ansible.testnode import converge_twice
from tests.conftest import require


@pytest.mark.slow
@pytest.mark.docker
def test_site_converges_then_changes_nothing(matrix_trees):
    _docker_ready()
    require("ssh")
    require("ssh-keygen")
    failures = []
    # One converge per accelerator: the roles' code paths depend on it alone; the other
    # differences between ansible/ trees are group_vars values (site, node type, image), which
    # lint and the syntax check cover for every combination.
    groups = matrix.groups(matrix_trees, ["ansible/*", "ansible/**/*", "ansible/.*"])
    for group in matrix.one_per(groups, lambda combo: combo.accelerator):
        first, second, info = converge_twice(group.root)
        check = info["check"]
        if not check.ok or check.changed_node:
            failures.append(f"[{group.ids}] check mode on the fresh node: failed={check.failed}, "
                            f"modified the node={check.changed_node}:\n{check.output[-5000:]}")
        if not first.ok:
            failures.append(f"[{group.ids}] first run failed:\n{first.output[-5000:]}")
        elif not second.ok or second.changed:
            failures.append(f"[{group.ids}] second run: changed={second.changed}, failed={second.failed}:\n"
                            f"{second.output[-5000:]}")
        if first.ok and first.changed == 0:
            failures.append(f"[{group.ids}] first run changed nothing: the node was not configured")
    assert not failures, "\n".join(failures)
