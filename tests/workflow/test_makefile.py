"""The generated Makefile: every target listed by `make help` and one ops command (no logic of its
own), dry runs of the main targets over the whole spec matrix, and golden `make -n` output of
up/train/backup/down for the examples.

Golden files: tests/workflow/golden/<example>.txt. After a deliberate change to the Makefile
blueprint, rewrite them with `REPRO_GEN_UPDATE_GOLDEN=1 pytest tests/workflow/test_makefile.py`,
then review and commit the diff.
"""

from __future__ import annotations

import json
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


# A recipe line of the Makefile: one ops command, a sub-make, or a line of the venv install rules
# (which run before the ops tools can).
OPS_LINE = re.compile(r"\t@?\$\(OPS\) [a-z-]+( [a-z-]+)?")
SUB_MAKE = re.compile(r"\t@\$\(MAKE\) [a-z-]+")
VENV_RULES = ("$(VENV)/.tools-installed:", ".venv-train/.installed:", "help:")


def recipes(text: str) -> dict[str, list[str]]:
    """{rule line: its recipe lines}."""
    found: dict[str, list[str]] = {}
    rule = None
    for line in text.splitlines():
        if line.startswith("\t") and rule is not None:
            found[rule].append(line)
        elif re.match(r"^[^\s#=]+:", line):
            rule = line
            found[rule] = []
    return found


def test_every_target_is_one_ops_command(matrix_trees):
    """The Makefile holds no logic of its own: each target runs one `$(OPS) <command>` (`up` a
    list of sub-makes); only the venv installs and `help` are shell."""
    failures = []
    for group in matrix.groups(matrix_trees, ["Makefile"]):
        for rule, lines in recipes((group.root / "Makefile").read_text()).items():
            if rule.startswith(VENV_RULES) or re.match(r"\.[A-Z_]+:", rule):
                continue  # the venv installs, help, and make's own special targets
            pattern = SUB_MAKE if rule.startswith("up:") else OPS_LINE
            bad = [line for line in lines if not pattern.fullmatch(line)]
            if bad or (not rule.startswith("up:") and len(lines) != 1):
                failures.append(f"[{group.ids}] {rule.split(':')[0]}: {lines}")
    assert not failures, "\n".join(failures)


def test_main_targets_dry_run_over_the_matrix(matrix_trees):
    require("make")
    failures = []
    for group in matrix.groups(matrix_trees, ["Makefile"]):
        for target in targets_of(group.root):
            try:
                out = dry_run(group.root, target)
            except AssertionError as exc:
                failures.append(f"[{group.ids}] {exc}")
                continue
            commands = [line for line in out.splitlines() if not line.startswith("make ")]
            if not commands or not all(line.startswith("python3 -m ops ") for line in commands):
                failures.append(f"[{group.ids}] {target}: {out}")
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


HEAD_OUTPUT = {"schema": 1, "site": "CHI@UC", "ssh_user": "cc",
               "head": {"name": "h-1", "fixed_ip": "10.0.0.5", "floating_ip": "192.0.2.7"},
               "nodes": [{"name": "h-1", "role": "head", "fixed_ip": "10.0.0.5",
                          "floating_ip": "192.0.2.7"}]}


def test_remote_commands_run_on_the_node_not_here(example_trees, tmp_path):
    """`make logs` and `make restore` hand their command lines to ssh unexpanded: SSH=echo
    prints what the node would run, after the head node's address and SSH_OPTS."""
    require("make")
    tree = _copy_tree(example_trees["minimal"], tmp_path / "minimal")
    (tree / "ansible/inventory/terraform-output.json").write_text(json.dumps(HEAD_OUTPUT))

    def remote(*args: str) -> str:
        proc = subprocess.run(["make", "-s", *args, "SSH=echo", "SSH_OPTS=-p 2222"], cwd=tree,
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()[-1]

    train_logs = remote("logs", "SERVICE=train")
    assert train_logs.startswith("-o StrictHostKeyChecking=accept-new -p 2222 cc@192.0.2.7 ")
    assert "$(docker ps -q --filter label=com.docker.compose.service=train" in train_logs
    logs = remote("logs", "SERVICE=mlflow")
    assert "--env-file tracking.env -f compose/tracking.yml logs --tail 100 -f mlflow" in logs
    restore = remote("restore", "SNAPSHOT=20260101T000000Z")
    stop, run, start = (restore.index(f" {word}") for word in ("stop mlflow", "run --rm", "start mlflow"))
    assert stop < run < start and "restore run --snapshot 20260101T000000Z" in restore
    assert "exit $status" in restore, "restore's exit status must survive the restart of MLflow"


def test_backup_targets_explain_themselves_when_backups_are_off(example_trees):
    require("make")
    tree = example_trees["cpu-sklearn-kvm"]
    assert "backups: false" in (tree / ".repro-gen" / "spec.yaml").read_text()
    for target in ("backup", "restore", "backup-list"):
        proc = subprocess.run(["make", target], cwd=tree, capture_output=True, text=True,
                              timeout=60, check=False)
        assert proc.returncode != 0 and "tracking.backups: false" in proc.stderr, proc.stderr
