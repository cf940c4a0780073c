"""Each generated role passes its molecule scenarios (create, converge, idempotence, check mode,
verify, destroy) in a systemd container built from the local Debian 12 image.

What is real and what stands in:
- common, docker: real packages, services, files, users and groups; Docker comes from Debian's
  packages (Docker's repository is unreachable here) and its daemon runs nested in the container.
- nvidia_driver, amd_rocm `default` / `missing_gpu`: the real GPU-less container (skip path and
  failure message).
- `standin` scenarios: lspci / nvidia-smi / nvidia-ctk / rocm-smi are stand-ins on PATH, because
  there is no GPU here; each such molecule.yml says so in its first lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests import matrix
from tests.conftest import ROOT, require
from tests.support.skips import REQUIRE_DOCKER, skip_or_fail

IMAGE = os.environ.get("MOLECULE_IMAGE", "local/debian-systemd:bookworm")

SCENARIOS = [
    ("common", "default"),
    ("docker", "default"),
    ("nvidia_driver", "default"),
    ("nvidia_driver", "missing_gpu"),
    ("nvidia_driver", "standin"),
    ("nvidia_container_toolkit", "standin"),
    ("amd_rocm", "default"),
    ("amd_rocm", "missing_gpu"),
    ("amd_rocm", "standin"),
]


def _docker_ready() -> None:
    require("docker")
    require("molecule")
    problem = ""
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        problem = "the Docker engine is not running (testbed/dockerd.sh starts it)"
    elif subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode != 0:
        problem = f"image {IMAGE} is missing (testbed/images.sh builds it)"
    if problem:
        skip_or_fail(problem, REQUIRE_DOCKER)


# Scenarios of roles from other blueprint families, run by those families' tests.
TESTED_ELSEWHERE = {
    ("mlflow_stack", "default"): "tests/tracking/test_role.py",
}


def test_every_rendered_scenario_is_tested(matrix_trees):
    found = {(p.parts[-4], p.parts[-2])
             for tree in matrix_trees.values()
             for p in (tree / "ansible/roles").glob("*/molecule/*/molecule.yml")}
    assert found == set(SCENARIOS) | set(TESTED_ELSEWHERE)
    for path in TESTED_ELSEWHERE.values():
        assert (ROOT / path).is_file(), path


def test_standin_scenarios_say_so(matrix_trees):
    # ansible/roles/<role>/molecule/<scenario>/molecule.yml, each distinct one once per scenario name.
    variants = [v for v in matrix.distinct_files(matrix_trees, ["ansible/roles/*/molecule/*/molecule.yml"],
                                                 key=lambda rel, path: (path.parent.name, rel.count("/")))
                if v.rel.count("/") == 5]
    assert variants
    for variant in variants:
        head = variant.path.read_text()[:600]
        assert ("STAND-IN SCENARIO" in head) == (variant.path.parent.name == "standin"), variant.label


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.parametrize(("role", "scenario"), SCENARIOS, ids=[f"{r}-{s}" for r, s in SCENARIOS])
def test_molecule_scenario(role, scenario, matrix_trees, tmp_path):
    _docker_ready()
    with_role = {c: t for c, t in matrix_trees.items() if (t / "ansible/roles" / role).is_dir()}
    assert with_role, f"no combination renders the {role} role"
    groups = matrix.groups(with_role, [f"ansible/roles/{role}/*", "ansible/molecule/*"])
    failures = []
    for i, group in enumerate(groups):
        # A copy, so molecule's files and the inventory of one run never touch the shared tree.
        work = tmp_path / f"tree-{i}"
        shutil.copytree(group.root / "ansible", work / "ansible", symlinks=True)
        env = {**os.environ, "MOLECULE_IMAGE": IMAGE, "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1",
               "PY_COLORS": "0", "MOLECULE_NO_LOG": "false"}
        proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=work / "ansible/roles" / role,
                              capture_output=True, text=True, env=env, timeout=1200)
        if proc.returncode != 0:
            failures.append(f"[{group.ids}]\n{(proc.stdout + proc.stderr)[-6000:]}")
    assert not failures, "\n".join(failures)
