"""Offline checks of this repository (`make check`): is it still what repro-gen rendered, is the
Terraform formatted, does ansible-lint pass, do the compose files parse. Nothing here touches
the cloud.

The first check compares every generated file with the hash recorded at the last render and lists
the ones you have changed (fine: a re-render merges them) or deleted. It fails only when the
normalized spec copy itself was edited, because the next render would silently disagree with it:
edit your own spec and re-render instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import ansible, settings
from .secrets import parse
from .settings import knob
from .steps import OpsError, announce, command, run, step

STATE = Path(".repro-gen/state.json")
SPEC_COPY = ".repro-gen/spec.yaml"
TERRAFORM_INSTALL = "https://developer.hashicorp.com/terraform/install"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rendered_files(root: Path) -> int:
    """Report the generated files edited or deleted since the render; 1 if the spec copy was."""
    state_file = root / STATE
    if not state_file.is_file():
        print("no .repro-gen/state.json: this repository was not rendered by repro-gen")
        return 1
    state = json.loads(state_file.read_text(encoding="utf-8"))
    edited, missing = [], []
    for rel, digest in sorted(state["files"].items()):
        path = root / rel
        if not path.is_file():
            missing.append(rel)
        elif sha256(path) != digest:
            edited.append(rel)
    print(f"rendered by repro-gen {state['generator_version']}, spec sha256 "
          f"{state['spec_sha256'][:12]}; {len(state['files'])} generated files")
    for label, paths in (("edited since the render", edited), ("deleted", missing)):
        if paths:
            print(f"{label}:\n  " + "\n  ".join(paths))
    if SPEC_COPY in edited or sha256(root / SPEC_COPY) != state["spec_sha256"]:
        print(f"{SPEC_COPY} was edited: change your own spec and re-render instead",
              file=sys.stderr)
        return 1
    return 0


def placeholder_env(example: Path) -> str:
    """Every name in .env.example with a placeholder: compose refuses empty secrets, and a check
    never needs to read the real .env."""
    names = parse(example.read_text(encoding="utf-8")) if example.is_file() else {}
    return "".join(f"{name}=placeholder\n" for name in names if re.fullmatch(r"[A-Za-z_]\w*", name))


def compose_files(root: Path) -> None:
    if not (shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False).returncode == 0):
        print("docker compose not installed here: skipped (the nodes check it on deploy)")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".env", encoding="utf-8") as env:
        env.write(placeholder_env(root / ".env.example"))
        env.flush()
        for path in sorted((root / "compose").glob("*.yml")):
            rel = path.relative_to(root).as_posix()
            with step("check", "fix the compose file named above"):
                try:
                    run(["docker", "compose", "--env-file", env.name, "-f", rel, "config", "-q"],
                        cwd=root)
                except OpsError as exc:
                    raise OpsError(f"in {rel}") from exc


def check(args: argparse.Namespace) -> int:
    root = settings.ROOT
    with step("check", "re-render the spec or keep your edits knowingly",
              "spec and generated files"):
        if rendered_files(root) != 0:
            raise OpsError()
    with step("check", "run terraform fmt -recursive terraform", "terraform fmt"):
        run([*shlex.split(knob("TERRAFORM")), "fmt", "-check", "-recursive", "terraform"], cwd=root)
    with step("check", "fix the lint findings above", "ansible-lint"):
        run([*shlex.split(knob("ANSIBLE_LINT")), "site.yml", "roles"], cwd=root / "ansible",
            env=ansible.ansible_env())
    announce("docker compose config")
    compose_files(root)
    return 0


def tools(args: argparse.Namespace) -> int:
    """Terraform is installed by you, not `make tools`: say which one, or where to get it."""
    terraform = shlex.split(knob("TERRAFORM"))
    if not shutil.which(terraform[0]):
        raise OpsError(f"{terraform[0]} is not installed",
                       hint=f"install Terraform >= 1.6 ({TERRAFORM_INSTALL}) and re-run")
    version = subprocess.run([*terraform, "version"], capture_output=True, text=True, check=False)
    print((version.stdout.splitlines() or ["terraform: no version"])[0])
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    command(commands, "check", check, "offline checks: spec consistency, terraform fmt,"
            " ansible-lint, compose config", "read the messages above")
    command(commands, "tools", tools, "say which Terraform is installed (make tools installs the"
            " rest)", f"install Terraform >= 1.6 ({TERRAFORM_INSTALL})")
