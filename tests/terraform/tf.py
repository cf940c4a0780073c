"""Helpers for the Terraform checks: the real terraform binary, and HCL parsed into plain dicts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

from tests.conftest import require

TF_DIR = "terraform"
TF_PATTERNS = ("terraform/*.tf", "terraform/*.tfvars", "terraform/modules/*/*.tf",
               "terraform/cloud-init.yaml")
_HCL_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False)

# A reservation id and flavor id of the shape the lease step writes.
RESERVATION_ID = "3f0c9a4e-8d2b-4c1e-9f6a-2b7d5e8c1a90"
FLAVOR_ID = "7a1e4b2c-9d3f-4e5a-8b6c-1d2e3f4a5b6c"


def terraform() -> str:
    return require("terraform", "the Terraform checks use the real binary as their oracle")


def env(workdir: Path) -> dict[str, str]:
    """No user CLI config, no update checks, no provider cache from the outside world."""
    cli_config = workdir / ".terraformrc"
    cli_config.write_text("")
    return {**os.environ, "TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


def run_tf(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([terraform(), *args, "-no-color"] if args[0] not in ("fmt", "output")
                          else [terraform(), *args], cwd=cwd, capture_output=True, text=True,
                          env=env(cwd), timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"terraform {' '.join(args)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def init(cwd: Path) -> None:
    run_tf(["init", "-backend=false", "-input=false"], cwd)


def parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle, serialization_options=_HCL_OPTIONS)


def parse_dir(tf_dir: Path) -> dict[str, dict[str, Any]]:
    """{file name: parsed body} for every .tf file directly in tf_dir."""
    return {p.name: parse(p) for p in sorted(tf_dir.glob("*.tf"))}


def blocks(parsed: dict[str, dict[str, Any]], kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) of every `resource` or `data` block across files."""
    out = []
    for body in parsed.values():
        for entry in body.get(kind, []):
            for type_, named in entry.items():
                for name, attrs in named.items():
                    out.append((type_, name, attrs))
    return out


def variables_only(tree: Path, dest: Path, lease_values: dict[str, Any] | None = None) -> Path:
    """A provider-free configuration: the rendered variables.tf and terraform.tfvars, plus the
    lease.auto.tfvars.json the lease step would write."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("variables.tf", "terraform.tfvars"):
        shutil.copy(tree / TF_DIR / name, dest / name)
    declared = {name for entry in parse(dest / "variables.tf").get("variable", []) for name in entry}
    values = lease_values if lease_values is not None else {
        k: v for k, v in {"reservation_id": RESERVATION_ID, "flavor_id": FLAVOR_ID}.items()
        if k in declared}
    (dest / "lease.auto.tfvars.json").write_text(json.dumps(values))
    return dest
