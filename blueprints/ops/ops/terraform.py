"""Terraform, run as the Makefile always ran it: -chdir=terraform, never prompting, with the
OpenStack environment cleaned so that clouds.yaml alone says where and who."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

from . import settings
from .settings import knob
from .steps import OpsError, command, run, step

# Chameleon's JupyterHub presets OS_* variables; they would override clouds.yaml.
KEPT_OS_VARIABLES = ("OS_CLOUD", "OS_CLIENT_CONFIG_FILE")


def cloud_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without stray OS_* variables, and with OS_CLIENT_CONFIG_FILE pointing at
    this repository's clouds.yaml when there is one and it is not set already: Terraform runs in
    terraform/, where ./clouds.yaml is out of its sight."""
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in environ.items()
           if not k.startswith("OS_") or k in KEPT_OS_VARIABLES}
    clouds = settings.ROOT / "clouds.yaml"
    if clouds.is_file() and not env.get("OS_CLIENT_CONFIG_FILE"):
        env["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    return env


def terraform(*args: str, stdout: Any = None) -> int:
    argv = [*shlex.split(knob("TERRAFORM")), "-chdir=terraform", *args]
    return run(argv, cwd=settings.ROOT, env=cloud_env(), stdout=stdout)


def provision(args: argparse.Namespace) -> int:
    cloud = settings.project()["lease"]["cloud"]
    with step("provision", "check network access to the Terraform registry", "terraform apply"):
        terraform("init", "-input=false", stdout=subprocess.DEVNULL)
    with step("provision", f"check clouds.yaml entry {cloud} and make status"):
        terraform("apply", "-input=false", "-auto-approve")
    return 0


def destroy() -> int:
    with step("down", "make status; then make down again", "terraform destroy"):
        return terraform("destroy", "-input=false", "-auto-approve")


def write_inventory(args: argparse.Namespace) -> int:
    """Terraform's `inventory` output (or TF_OUTPUT_JSON, a saved one), then the Ansible
    inventory made from it."""
    output = settings.ROOT / settings.TF_OUTPUT
    saved = knob("TF_OUTPUT_JSON")
    with step("inventory", "make provision"):
        if saved:
            print(f"cp {saved} {settings.TF_OUTPUT}")
            try:
                shutil.copyfile(saved, output)
            except OSError as exc:
                raise OpsError(f"cannot copy TF_OUTPUT_JSON: {exc}",
                               hint="check TF_OUTPUT_JSON") from None
        else:
            with output.open("w", encoding="utf-8") as out:
                terraform("output", "-json", "inventory", stdout=out)
    with step("inventory", f"check {settings.TF_OUTPUT}"):
        run([sys.executable, "ansible/inventory/from_terraform.py", str(settings.TF_OUTPUT),
             "-o", str(settings.INVENTORY)], cwd=settings.ROOT)
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    command(commands, "provision", provision, "terraform init + apply: the nodes, their ports and"
            " the floating IP", "make status")
    command(commands, "inventory", write_inventory, "write the Ansible inventory from Terraform's"
            " outputs (TF_OUTPUT_JSON: from a saved output instead)", "make provision")
