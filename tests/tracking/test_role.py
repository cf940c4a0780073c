"""The mlflow_stack role: ansible-lint's production profile, and molecule (create, converge,
idempotence, verify, destroy) in a systemd container, once per distinct rendering of the role."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests import matrix
from tests.conftest import require
from tests.support.skips import REQUIRE_DOCKER, skip_or_fail

ROLE = "ansible/roles/mlflow_stack"
# Everything the role copies or reads, so a group is one distinct thing to converge.
PATTERNS = (f"{ROLE}/*", f"{ROLE}/*/*", f"{ROLE}/*/*/*", "compose/tracking.yml", "docker/mlflow/*",
            "docker/backup/*", "ops/*")


def _docker_image(tag: str) -> None:
    require("docker")
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode != 0:
        skip_or_fail(f"image {tag} is missing (build it with testbed/images.sh)", REQUIRE_DOCKER)


def test_role_passes_ansible_lint_production(matrix_trees):
    require("ansible-lint")
    failures = []
    for group in matrix.groups(matrix_trees, PATTERNS):
        env = {**os.environ, "ANSIBLE_ROLES_PATH": str(group.root / "ansible" / "roles")}
        result = subprocess.run(["ansible-lint", "--offline", "--profile", "production",
                                 "roles/mlflow_stack"], cwd=group.root / "ansible", env=env,
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            failures.append(f"{group.ids}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
@pytest.mark.docker
def test_role_converges_idempotently_and_verifies(matrix_trees):
    require("molecule")
    _docker_image(os.environ.get("MOLECULE_IMAGE", "local/debian-systemd:bookworm"))
    failures = []
    # One converge per artifact store (the role's only branch); the groups left out differ in
    # the site's object-store URL and name, which lint covers for every group.
    for group in matrix.one_per(matrix.groups(matrix_trees, PATTERNS), lambda c: c.artifact_store):
        role = Path(group.root) / ROLE
        result = subprocess.run(["molecule", "test"], cwd=role, capture_output=True, text=True,
                                timeout=900, env={**os.environ, "ANSIBLE_FORCE_COLOR": "0",
                                                  "PY_COLORS": "0", "NO_COLOR": "1"})
        if result.returncode != 0:
            failures.append(f"{group.ids}:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
    assert not failures, "\n".join(failures)
