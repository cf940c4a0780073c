"""The training role, converged twice against this machine (connection local) with the real Docker
engine: it ships the checkout (with .git, without secrets), builds the image, writes the facts file
compose reads, and changes nothing the second time.

The node is this machine instead of an Ubuntu Chameleon node (no Docker-in-Docker here), and the
image's pinned upstream base is replaced by the locally built STAND-IN `local/python:3.11-slim`
through the role's `training_build_args`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid

import pytest

from tests.conftest import require, run
from tests.support.docker import require_image

from .conftest import rendered_checkout, spec_for

pytestmark = [pytest.mark.slow, pytest.mark.docker]

STAND_IN_BASE = "local/python:3.11-slim"


def converge(playbook, repo) -> subprocess.CompletedProcess:
    env_vars = {"ANSIBLE_ROLES_PATH": str(repo / "ansible/roles"), "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"}
    return subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook)],
                          capture_output=True, text=True, timeout=1500, env={**os.environ, **env_vars})


def changed(output: str) -> int:
    match = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", output)
    assert match, output[-3000:]
    return int(match.group(1))


def test_role_ships_builds_and_is_idempotent(tmp_path):
    require("ansible-playbook")
    require("rsync")
    require_image(STAND_IN_BASE)
    repo = rendered_checkout(spec_for("sklearn"), tmp_path / "repo")
    (repo / ".env").write_text("POSTGRES_PASSWORD=never-shipped\n")  # git-ignored secret
    node = tmp_path / "node"
    image = f"training-test/role-{uuid.uuid4().hex[:8]}"
    playbook = tmp_path / "converge.yml"
    playbook.write_text(json.dumps([{
        "name": "Converge", "hosts": "localhost", "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "training_project_dir": str(node), "training_source_dir": str(repo),
                 "training_user": "root", "training_image_name": image,
                 "training_build_args": {"BASE_IMAGE": STAND_IN_BASE},
                 "training_lease_id": "lease-42", "training_reservation_id": "resv-42"},
        "roles": ["training"],
    }]))
    try:
        first = converge(playbook, repo)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
        assert changed(first.stdout) > 0
        second = converge(playbook, repo)
        assert second.returncode == 0, second.stdout[-4000:]
        assert changed(second.stdout) == 0, second.stdout[-4000:]

        assert (node / ".git").is_dir() and (node / "training/train.py").is_file()
        assert not (node / ".env").exists(), "secrets must never be shipped"
        facts = dict(line.split("=", 1) for line in (node / "compose/.env.train").read_text().splitlines()
                     if line and not line.startswith("#"))
        inspect = run(["docker", "image", "inspect", "--format", "{{.Id}}", f"{image}:latest"])
        image_id = inspect.stdout.strip()
        assert facts["REPRO_IMAGE_DIGEST"] == image_id and image_id.startswith("sha256:")
        assert facts["CHAMELEON_LEASE_ID"] == "lease-42"
        assert facts["CHAMELEON_RESERVATION_ID"] == "resv-42"
        # The shipped checkout is the same commit, and clean: provenance on the node is exact.
        head = run(["git", "-C", str(node), "rev-parse", "HEAD"]).stdout
        assert head == run(["git", "-C", str(repo), "rev-parse", "HEAD"]).stdout
        assert run(["git", "-C", str(node), "status", "--porcelain"]).stdout == ""
    finally:
        tags = run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", image]).stdout.split()
        if tags:
            run(["docker", "rmi", "-f", *tags])
