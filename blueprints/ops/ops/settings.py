"""Where things are, and what this project is: ops/project.json, rendered by repro-gen from the
spec, is the only project-specific file of the package; the make variables a user may set arrive
in the environment (the Makefile exports them)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .steps import OpsError

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = Path(__file__).resolve().parent / "project.json"
# Terraform's `inventory` output as `make inventory` saved it, and the inventory made from it.
TF_OUTPUT = Path("ansible/inventory/terraform-output.json")
INVENTORY = Path("ansible/inventory/hosts.yml")
# What `make lease` last heard from Blazar (`lease status --json`); ignored by git.
LEASE_STATUS = Path("terraform/lease-status.json")
TRACKING_URL = "http://127.0.0.1:5000"

# The make variables the commands read, with their defaults ("" = not set).
KNOBS: dict[str, str] = {
    "ARGS": "", "RUN_ID": "", "CONFIRM": "", "FORCE": "", "SNAPSHOT": "", "SERVICE": "",
    "SSH_OPTS": "", "ANSIBLE_ARGS": "", "TF_OUTPUT_JSON": "", "BACKUP_MAX_AGE_HOURS": "6",
    "NODE_DIR": "", "TRAIN_DIR": "",
    "TERRAFORM": "terraform", "SSH": "ssh", "ANSIBLE_PLAYBOOK": "ansible-playbook",
    "ANSIBLE_LINT": "ansible-lint",
}


def load(path: Path = PROJECT_FILE) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpsError(f"{path} is missing; re-render the project with repro-gen") from None
    except ValueError as exc:
        raise OpsError(f"{path} is not valid JSON ({exc}); re-render the project") from None


def knob(name: str, environ: Mapping[str, str] | None = None) -> str:
    """A make variable's value: the environment's when set and not empty, else its default."""
    value = (os.environ if environ is None else environ).get(name, "")
    return value if value.strip() else KNOBS[name]


def project() -> dict[str, Any]:
    """ops/project.json, read once per process."""
    global _PROJECT
    if _PROJECT is None:
        _PROJECT = load()
    return _PROJECT


_PROJECT: dict[str, Any] | None = None
