"""`python3 -m ops <command>`: one command per step of the experiment's life. The Makefile calls
one per target; `python3 -m ops <command> --help` says what each takes.

A failing command names its step and the next thing to try; the make variables it reads (ARGS,
RUN_ID, CONFIRM, FORCE, SNAPSHOT, SERVICE, SSH_OPTS, ANSIBLE_ARGS, TF_OUTPUT_JSON,
BACKUP_MAX_AGE_HOURS, TERRAFORM, SSH, ...) come from the environment.
"""

from __future__ import annotations

import argparse
import sys

from . import (
    ansible,
    backup,
    check,
    lease,
    node,
    restore,
    secrets,
    status,
    teardown,
    terraform,
    training,
)
from .steps import OpsError, StepFailed, command, failure_text, report, step

# In the order `python3 -m ops --help` lists them: the order of a study.
COMMANDS = (check, secrets, lease, terraform, ansible, status, training, node, backup, restore,
            teardown)


def fail(args: argparse.Namespace) -> int:
    """For the Makefile's own few lines (the venv installs): report a failed step."""
    print(failure_text(args.failed_step, args.next), end="", file=sys.stderr)
    return 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m ops", description=__doc__.split("\n\n")[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands)
    failed = command(commands, "fail", fail, "report a failed step (for the Makefile)", "")
    failed.add_argument("failed_step", metavar="STEP")
    failed.add_argument("next", metavar="NEXT")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with step(args.step, args.hint):
            code = args.func(args)
    except OpsError as exc:
        if args.debug:
            raise
        return report(exc)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    if code and args.command not in ("fail",):
        report(StepFailed(args.step, args.hint, OpsError()))
    return code
