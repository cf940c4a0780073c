"""The training role, converged against this machine (connection local) with the real Docker
engine and rsync: it ships the checkout as git sees it (with .git; nothing git ignores, no secrets,
keys or local venvs), builds the image, writes the facts file compose reads and the Hugging Face
token file (0600, never logged), changes nothing the second time, and after a file is deleted
locally, deletes it on the node too while keeping what the role wrote there.

The node is this machine instead of an Ubuntu Chameleon node (no Docker-in-Docker here), and the
image's pinned upstream base is replaced by the locally built STAND-IN `local/python:3.11-slim`
through the role's `training_build_args`.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import uuid

import pytest

from tests.conftest import require, run
from tests.support.docker import require_image

from .conftest import git, rendered_checkout, spec_for

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


TOKEN = "hf_RoleTestToken0123456789"
# Git-ignored or secret: none of these may reach the node.
NEVER_SHIPPED = [".env", ".env.local", "secrets/key.txt", "lab.pem", "id_rsa", "id_ed25519.pub",
                 ".venv-train/bin/python", "mlruns/1/meta.yaml", "scratch/notes.txt"]


def test_role_ships_builds_and_is_idempotent(tmp_path):
    require("ansible-playbook")
    require("rsync")
    require_image(STAND_IN_BASE)
    data = spec_for("sklearn")
    data["integrations"] = {"huggingface": True}
    repo = rendered_checkout(data, tmp_path / "repo")
    # A researcher's own ignore rule, known only to .gitignore (not to the role's excludes).
    with (repo / ".gitignore").open("a") as ignore:
        ignore.write("scratch/\n")
    git(repo, "commit", "-q", "-am", "ignore scratch/")
    for name in NEVER_SHIPPED:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("never-shipped\n")
    (repo / ".env").write_text(f'POSTGRES_PASSWORD=never-shipped\nexport HF_TOKEN="{TOKEN}"\n')
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
        for output in (first, second):
            assert TOKEN not in output.stdout + output.stderr, "the token was logged"

        assert (node / ".git").is_dir() and (node / "training/train.py").is_file()
        shipped = [name for name in NEVER_SHIPPED if (node / name).exists()]
        assert not shipped, f"shipped although git-ignored or secret: {shipped}"
        facts = dict(line.split("=", 1) for line in (node / "compose/.env.train").read_text().splitlines()
                     if line and not line.startswith("#"))
        inspect = run(["docker", "image", "inspect", "--format", "{{.Id}}", f"{image}:latest"])
        image_id = inspect.stdout.strip()
        assert facts["REPRO_IMAGE_DIGEST"] == image_id and image_id.startswith("sha256:")
        # The tag the role built, not :latest, and it names the same image.
        name, _, tag = facts["REPRO_IMAGE"].rpartition(":")
        assert name == image and tag != "latest"
        built = run(["docker", "image", "inspect", "--format", "{{.Id}}", facts["REPRO_IMAGE"]])
        assert built.stdout.strip() == image_id
        assert facts["CHAMELEON_LEASE_ID"] == "lease-42"
        assert facts["CHAMELEON_RESERVATION_ID"] == "resv-42"
        token_file = node / "compose/.env.train.secrets"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert f"HF_TOKEN={TOKEN}" in token_file.read_text().splitlines()
        # The shipped checkout is the same commit, and clean: provenance on the node is exact.
        head = run(["git", "-C", str(node), "rev-parse", "HEAD"]).stdout
        assert head == run(["git", "-C", str(repo), "rev-parse", "HEAD"]).stdout
        assert run(["git", "-C", str(node), "status", "--porcelain"]).stdout == ""

        # Deleted here, deleted there; the node's own runs and the role's files stay.
        git(repo, "rm", "-q", "ansible/roles/training/README.md")
        git(repo, "commit", "-q", "-m", "drop the role README")
        (node / "training/stale.py").write_text("# deleted locally long ago\n")
        (node / "mlruns").mkdir(exist_ok=True)
        (node / "mlruns/node-run.txt").write_text("a run made on the node\n")
        third = converge(playbook, repo)
        assert third.returncode == 0, third.stdout[-4000:]
        assert not (node / "ansible/roles/training/README.md").exists()
        assert not (node / "training/stale.py").exists()
        assert (node / "mlruns/node-run.txt").is_file(), "git-ignored files on the node are kept"
        assert (node / "compose/.env.train").is_file() and token_file.is_file()
        assert run(["git", "-C", str(node), "status", "--porcelain"]).stdout == ""
    finally:
        tags = run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", image]).stdout.split()
        if tags:
            run(["docker", "rmi", "-f", *tags])
