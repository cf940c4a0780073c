"""ansible-playbook site.yml, with this repository's ansible.cfg and the lease every run records
(the training role reads CHAMELEON_LEASE_ID and CHAMELEON_RESERVATION_ID from the environment)."""

from __future__ import annotations

import argparse
import os
import shlex

from . import lease, settings
from .settings import knob
from .steps import command, run, step


def ansible_env() -> dict[str, str]:
    """The environment with this repository's ansible.cfg, wherever the command runs."""
    return {**os.environ, "ANSIBLE_CONFIG": str(settings.ROOT / "ansible" / "ansible.cfg")}


def playbook_env() -> dict[str, str]:
    env = ansible_env()
    env["CHAMELEON_LEASE_ID"] = lease.cached_or_empty("lease_id")
    env["CHAMELEON_RESERVATION_ID"] = lease.cached_or_empty("reservation_id")
    return env


def playbook(*extra: str) -> int:
    """site.yml with `extra` arguments and ANSIBLE_ARGS from make, run in ansible/."""
    argv = [*shlex.split(knob("ANSIBLE_PLAYBOOK")), "site.yml", *extra,
            *shlex.split(knob("ANSIBLE_ARGS"))]
    return run(argv, cwd=settings.ROOT / "ansible", env=playbook_env())


def configure(args: argparse.Namespace) -> int:
    with step("configure", "if SSH was refused the node may still be booting: wait a minute and"
              " make configure", "ansible-playbook site.yml"):
        return playbook()


def add_parser(commands: argparse._SubParsersAction) -> None:
    command(commands, "configure", configure, "run ansible/site.yml: drivers, Docker, tracking"
            " stack, training service (ANSIBLE_ARGS: more arguments)", "make configure")
