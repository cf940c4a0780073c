"""The head node: its address from Terraform's output, ssh to it, and what runs there (a shell,
the MLflow tunnel, the logs, the tracking stack's compose command)."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from . import settings
from .settings import knob
from .steps import OpsError, command, run

# Logs of the training container, if one runs (label set by compose).
TRAIN_LOGS = ('id=$(docker ps -q --filter label=com.docker.compose.service=train | head -n 1); '
              'if [ -z "$id" ]; then echo "no training is running (finished runs are in MLflow:'
              ' make mlflow-ui)"; exit 1; fi; docker logs --tail 100 -f "$id"')


def inventory() -> dict[str, Any]:
    """Terraform's `inventory` output as `make inventory` saved it."""
    path = settings.ROOT / settings.TF_OUTPUT
    if not path.is_file():
        raise OpsError(f"{settings.TF_OUTPUT} is missing: run `make up` (or `make inventory`)",
                       hint="make inventory")
    return json.loads(path.read_text(encoding="utf-8"))


def head_target(inv: dict[str, Any] | None = None) -> str:
    """cc@<address> of the head node, for ssh."""
    inv = inventory() if inv is None else inv
    head = inv["head"]
    return f"{inv.get('ssh_user', 'cc')}@{head.get('floating_ip') or head['fixed_ip']}"


def ssh_argv(remote: str | None = None, *, options: tuple[str, ...] = ()) -> list[str]:
    """ssh to the head node (SSH, SSH_OPTS from make), running `remote` there if given."""
    return [*shlex.split(knob("SSH")), "-o", "StrictHostKeyChecking=accept-new",
            *shlex.split(knob("SSH_OPTS")), *options, head_target(),
            *([remote] if remote is not None else [])]


def stack_dir() -> str:
    """Where the tracking stack lives on the head node (the mlflow_stack role)."""
    return knob("NODE_DIR") or settings.project()["tracking"]["node_dir"]


def tracking_compose() -> str:
    """The tracking stack's compose command on the head node, run from stack_dir()."""
    tracking = settings.project()["tracking"]
    files = " ".join(f"--env-file {shlex.quote(f)}" for f in tracking["env_files"])
    return f"sudo docker compose {files} -f {shlex.quote(tracking['compose_file'])}"


def in_stack_dir(command: str) -> str:
    return f"cd {shlex.quote(stack_dir())} && {command}"


def logs_command(service: str) -> str:
    """What `make logs` runs on the node: the training container's log, or the stack's."""
    if service == "train":
        return TRAIN_LOGS
    return in_stack_dir(f"{tracking_compose()} logs --tail 100 -f {service}".rstrip())


def on_head(remote: str | None = None, *, options: tuple[str, ...] = ()) -> int:
    return run(ssh_argv(remote, options=options))


def add_parser(commands: argparse._SubParsersAction) -> None:
    command(commands, "ssh", lambda args: on_head(), "open a shell on the head node", "make status")
    command(commands, "mlflow-ui", mlflow_ui, "tunnel the MLflow UI to http://127.0.0.1:5000",
            "make status; is port 5000 free here?")
    logs = command(commands, "logs", logs_main, "follow logs on the head node: the tracking stack"
                   " (SERVICE=mlflow...), or SERVICE=train", "make status")
    logs.add_argument("--service", default=None, help="default: SERVICE from make, else all")


def mlflow_ui(args: argparse.Namespace) -> int:
    print(f"MLflow: {settings.TRACKING_URL} (Ctrl-C to close)", flush=True)
    return on_head(options=("-N", "-L", "127.0.0.1:5000:127.0.0.1:5000"))


def logs_main(args: argparse.Namespace) -> int:
    service = knob("SERVICE") if args.service is None else args.service
    return on_head(logs_command(service.strip()))
