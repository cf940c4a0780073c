"""`make down`: back up (when backups are on), check that the backup is recent, ask, destroy the
nodes, delete the lease, and forget the node's address."""

from __future__ import annotations

import argparse

from . import backup, lease, settings, terraform
from .settings import knob
from .steps import OpsError, command, step


def confirm(project: str) -> None:
    """Ask before destroying, unless CONFIRM=yes; no answer (no terminal) is a no."""
    if knob("CONFIRM") == "yes":
        return
    try:
        answer = input(f"Destroy the nodes of {project} and delete the lease? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip() != "y":
        raise OpsError("aborted: nothing was destroyed",
                       hint="make down CONFIRM=yes skips the question")


def back_up_first() -> None:
    if not settings.project()["backups"]["enabled"]:
        print("Backups are off in the spec: runs on the node's disk are lost with it.")
        return
    if knob("FORCE") == "yes":
        print("FORCE=yes: destroying without a new backup.")
        return
    backup.load_env_file(settings.ROOT / ".env")
    backup.on_node()
    with step("down", "make backup; or FORCE=yes to destroy without a recent backup"):
        backup.require_recent(float(knob("BACKUP_MAX_AGE_HOURS")))


def forget_nodes() -> None:
    for path in (settings.TF_OUTPUT, settings.INVENTORY, settings.LEASE_STATUS):
        (settings.ROOT / path).unlink(missing_ok=True)
    print(f"removed {settings.TF_OUTPUT}, {settings.INVENTORY}, {settings.LEASE_STATUS}")


def down(args: argparse.Namespace) -> int:
    back_up_first()
    confirm(settings.project()["project"])
    terraform.destroy()
    with step("down", "python3 -m ops lease status", "lease delete"):
        lease.run(argparse.Namespace(lease_command="delete", yes=True),
                  lease.load_config(settings.project()))
    forget_nodes()
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    command(commands, "down", down, "back up, then destroy the nodes and delete the lease"
            " (CONFIRM=yes: no question; FORCE=yes: no backup)",
            "make status; then make down again")
