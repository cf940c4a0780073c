"""Each generated role passes its molecule scenarios (create, converge, idempotence, check mode,
verify, destroy) in a systemd container built from the local Debian 12 image.

What is real and what stands in:
- common, docker: real packages, services, files, users and groups; Docker comes from Debian's
  packages (Docker's repository is unreachable here) and its daemon runs nested in the container.
- nvidia_driver, amd_rocm `default` / `missing_gpu`: the real GPU-less container (skip path and
  failure message).
- `standin` scenarios: lspci / nvidia-smi / nvidia-ctk / rocm-smi are stand-ins on PATH, because
  there is no GPU here; each such molecule.yml says so in its first lines.
- training `default`: the repository is really shipped with rsync and the settings file written;
  the image build is off (no Docker engine in the container; tests/training/test_role.py builds it).

The scenarios ship only with `integrations.molecule: true` (the matrix turns it on).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import matrix
from tests.conftest import ROOT, render_data, require
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
    ("training", "default"),
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


def _molecule_files(tree: Path) -> list[str]:
    """The rendered files that are molecule scaffolding, or that name molecule (the spec's copy
    and the render record under .repro-gen/ aside)."""
    rels = (p.relative_to(tree).as_posix() for p in matrix.rendered_files(tree))
    return sorted(rel for rel in rels if not rel.startswith(".repro-gen/")
                  and ("molecule" in rel or b"molecule" in (tree / rel).read_bytes().lower()))


def test_molecule_scaffolding_ships_only_when_asked(example_trees, tmp_path):
    """Without integrations.molecule no scenario, stand-in or mention of molecule is rendered (the
    researcher could not run them without repro-gen's test images); with it, every role has one."""
    for name, tree in example_trees.items():
        on = yaml.safe_load((tree / ".repro-gen/spec.yaml").read_text())["integrations"]["molecule"]
        if not on:
            assert _molecule_files(tree) == [], name
    data = {"project": {"name": "opt-in-study"}, "integrations": {"molecule": True}}
    tree = render_data(data, tmp_path / "on")
    roles = sorted(p.name for p in (tree / "ansible/roles").iterdir())
    with_scenarios = sorted({p.parts[-4] for p in (tree / "ansible/roles").glob("*/molecule/*/molecule.yml")})
    # gpu_detect is tested through the scenarios of the roles that use it.
    assert with_scenarios == [r for r in roles if r != "gpu_detect"]
    assert (tree / "ansible/molecule/prepare_standins.yml").is_file()
    off = render_data({**data, "integrations": {"molecule": False}}, tmp_path / "off")
    assert _molecule_files(off) == []


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
    # One run per distinct role; the shared stand-ins count only for scenarios that use them
    # (common and docker ran three times over, once per accelerator's stand-ins, before).
    any_tree = next(iter(with_role.values()))
    config = (any_tree / "ansible/roles" / role / "molecule" / scenario / "molecule.yml").read_text()
    patterns = [f"ansible/roles/{role}/*"]
    if "ansible/molecule" in config or "prepare_standins" in config:
        patterns.append("ansible/molecule/*")
    groups = matrix.groups(with_role, patterns)
    failures = []
    for i, group in enumerate(groups):
        # A copy, so molecule's files and the inventory of one run never touch the shared tree;
        # all of it, since the training role ships the whole repository.
        work = tmp_path / f"tree-{i}"
        shutil.copytree(group.root, work, symlinks=True)
        env = {**os.environ, "MOLECULE_IMAGE": IMAGE, "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1",
               "PY_COLORS": "0", "MOLECULE_NO_LOG": "false"}
        proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=work / "ansible/roles" / role,
                              capture_output=True, text=True, env=env, timeout=1200)
        if proc.returncode != 0:
            failures.append(f"[{group.ids}]\n{(proc.stdout + proc.stderr)[-6000:]}")
    assert not failures, "\n".join(failures)
