"""The generated Makefile: every target listed by `make help`, dry runs of the main targets over the
whole spec matrix, and golden `make -n` output of up/train/backup/down for the examples.

Golden files: tests/workflow/golden/<example>.txt. After a deliberate change to the Makefile
blueprint, rewrite them with `REPRO_GEN_UPDATE_GOLDEN=1 pytest tests/workflow/test_makefile.py`,
then review and commit the diff.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import matrix
from tests.conftest import require

GOLDEN = Path(__file__).parent / "golden"
# Fixed stand-ins so the dry run does not depend on this machine (no Terraform or venv needed).
DRY_VARS = ["TERRAFORM=terraform", "PYTHON=python3", "ANSIBLE_PLAYBOOK=ansible-playbook",
            "ANSIBLE_LINT=ansible-lint", "VENV=/nonexistent-venv"]


def targets_of(tree: Path) -> list[str]:
    main = ["up", "train", "down"]
    if re.search(r"^backup:", (tree / "Makefile").read_text(), re.M):
        main.insert(2, "backup")
    return main


def dry_run(tree: Path, target: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    proc = subprocess.run(["make", "-n", target, *DRY_VARS], cwd=tree, capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=60, check=False)
    assert proc.returncode == 0, f"make -n {target} in {tree}:\n{proc.stderr}"
    return proc.stdout.replace(str(tree), "<repo>")


def test_help_lists_every_target(matrix_trees):
    require("make")
    failures = []
    for group in matrix.groups(matrix_trees, ["Makefile"]):
        text = (group.root / "Makefile").read_text()
        declared = set(re.findall(r"^([a-z][a-z-]*):", text, re.M))
        commented = set(re.findall(r"^([a-z][a-z-]*):.*## ", text, re.M))
        proc = subprocess.run(["make"], cwd=group.root, capture_output=True, text=True, timeout=60,
                              check=False)
        listed = set(re.findall(r"^  make (\S+)", proc.stdout, re.M))
        if proc.returncode != 0 or declared != commented or listed != declared:
            failures.append(f"[{group.ids}] undocumented {sorted(declared - commented)}, "
                            f"not listed {sorted(declared - listed)}: {proc.stderr}")
    assert not failures, "\n".join(failures)


def test_main_targets_dry_run_over_the_matrix(matrix_trees):
    require("make")
    failures = []
    for group in matrix.groups(matrix_trees, ["Makefile", "scripts/*"]):
        for target in targets_of(group.root):
            try:
                out = dry_run(group.root, target)
            except AssertionError as exc:
                failures.append(f"[{group.ids}] {exc}")
                continue
            if "*** make: step" in out and "|| {" not in out:
                failures.append(f"[{group.ids}] {target}: failure message without a guard")
            if target == "down" and "destroy" not in out:
                failures.append(f"[{group.ids}] down does not destroy:\n{out}")
            # The backup and its age check come before terraform destroy.
            if (target == "down" and "backup" in targets_of(group.root)
                    and not out.index("backup.py --env-file .env check") < out.index(" destroy ")):
                failures.append(f"[{group.ids}] down destroys before checking the backup")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("example", ["minimal", "cpu-sklearn-kvm", "a100-multinode-uc",
                                     "amd-mi100-tacc", "pytorch-rtx6000-uc"])
def test_dry_run_matches_golden(example_trees, example):
    require("make")
    tree = example_trees[example]
    text = "".join(f"## make -n {t}\n{dry_run(tree, t)}" for t in targets_of(tree))
    golden = GOLDEN / f"{example}.txt"
    if os.environ.get("REPRO_GEN_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"{golden} missing: run with REPRO_GEN_UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text(), f"make -n output of {example} changed; see {golden}"


def _copy_tree(tree: Path, dest: Path) -> Path:
    shutil.copytree(tree, dest, symlinks=True)
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("example", ["a100-multinode-uc", "cpu-sklearn-kvm"])
def test_make_check_passes_on_a_fresh_render(example_trees, tmp_path, example):
    """The real `make check`: spec consistency, terraform fmt, ansible-lint, compose config."""
    for tool in ("make", "terraform", "ansible-lint", "docker"):
        require(tool)
    tree = _copy_tree(example_trees[example], tmp_path / example)
    proc = subprocess.run(["make", "check"], cwd=tree, capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "docker compose config" in proc.stdout
    assert "skipped" not in proc.stdout, "compose must be checked where it is installed"


@pytest.mark.slow
def test_make_check_names_the_step_that_fails(example_trees, tmp_path):
    for tool in ("make", "terraform", "docker"):
        require(tool)
    tree = _copy_tree(example_trees["minimal"], tmp_path / "minimal")
    fast = ["ANSIBLE_LINT=true"]  # the lint itself is covered above and in tests/ansible
    compose = tree / "compose" / "tracking.yml"
    compose.write_text(compose.read_text().replace("services:\n", "services:\n  broken: {image: [}\n", 1))
    proc = subprocess.run(["make", "check", *fast], cwd=tree, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode != 0
    assert 'step "check" failed' in proc.stderr and "in compose/tracking.yml" in proc.stderr, proc.stderr
    main_tf = tree / "terraform" / "main.tf"
    main_tf.write_text(main_tf.read_text().replace(" = ", "   =   ", 1))
    proc = subprocess.run(["make", "check", *fast], cwd=tree, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode != 0 and "terraform fmt -recursive" in proc.stderr, proc.stderr


def test_remote_commands_run_on_the_node_not_here(example_trees, tmp_path):
    """`make logs` and `make restore` hand their command lines to ssh unexpanded: SSH_HEAD=echo
    prints what the node would run."""
    require("make")
    tree = example_trees["minimal"]

    def remote(*args: str) -> str:
        proc = subprocess.run(["make", "-s", *args, "SSH_HEAD=echo"], cwd=tree, capture_output=True,
                              text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "$(docker ps -q --filter label=com.docker.compose.service=train" in remote("logs", "SERVICE=train")
    logs = remote("logs", "SERVICE=mlflow")
    assert "--env-file tracking.env -f compose/tracking.yml logs --tail 100 -f mlflow" in logs
    restore = remote("restore", "SNAPSHOT=20260101T000000Z")
    stop, run, start = (restore.index(f" {word}") for word in ("stop mlflow", "run --rm", "start mlflow"))
    assert stop < run < start and "--snapshot 20260101T000000Z" in restore
    assert "exit $status" in restore, "restore's exit status must survive the restart of MLflow"


def test_backup_targets_explain_themselves_when_backups_are_off(example_trees):
    require("make")
    tree = example_trees["cpu-sklearn-kvm"]
    assert "backups: false" in (tree / ".repro-gen" / "spec.yaml").read_text()
    for target in ("backup", "restore", "backup-list"):
        proc = subprocess.run(["make", target], cwd=tree, capture_output=True, text=True,
                              timeout=60, check=False)
        assert proc.returncode != 0 and "tracking.backups: false" in proc.stderr, proc.stderr
