"""How a command reports: `==> title` as each step starts, the command lines it runs, and, when a
step fails, one message naming the step and the next thing to try."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any


class OpsError(Exception):
    """A problem the user can act on; printed without a traceback. `hint` is the next thing to
    try, when the error knows better than the step it happens in."""

    exit_code = 1

    def __init__(self, message: str = "", hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class StepFailed(OpsError):
    """An error inside a named step: what the user sees last."""

    def __init__(self, step: str, hint: str, cause: OpsError) -> None:
        super().__init__(str(cause), hint)
        self.step = step
        self.exit_code = cause.exit_code


class CommandFailed(OpsError):
    """A program the step ran exited non-zero (its own output says why)."""

    def __init__(self, argv: Sequence[str], code: int) -> None:
        super().__init__(f"{Path(argv[0]).name} exited with status {code}")
        self.code = code


def command(commands: argparse._SubParsersAction, name: str,
            func: Callable[[argparse.Namespace], int], summary: str, hint: str,
            **options: Any) -> argparse.ArgumentParser:
    """Register `python3 -m ops NAME`: it runs func(args) as step NAME; `hint` is what to try next
    when it fails (an error may name a better one)."""
    parser = commands.add_parser(name, help=summary, **options)
    parser.set_defaults(func=func, step=name, hint=hint)
    return parser


def failure_text(step: str, hint: str) -> str:
    return f'\n*** step "{step}" failed.\n*** Next: {hint}\n'


@contextlib.contextmanager
def step(name: str, hint: str, title: str | None = None) -> Iterator[None]:
    """Run a block as step `name`: an OpsError inside becomes StepFailed(name, hint), unless an
    inner step named itself already."""
    if title:
        announce(title)
    try:
        yield
    except StepFailed:
        raise
    except OpsError as exc:
        raise StepFailed(name, exc.hint or hint, exc) from exc


def announce(title: str, out: IO[str] | None = None) -> None:
    print(f"\n==> {title}", file=out or sys.stdout, flush=True)


def report(exc: OpsError, err: IO[str] | None = None) -> int:
    """Print what went wrong (and, for a step, what to try next); return the exit status."""
    err = err or sys.stderr
    if str(exc) and not isinstance(exc.__cause__, CommandFailed):
        print(f"error: {exc}", file=err)
    if isinstance(exc, StepFailed):
        print(failure_text(exc.step, exc.hint or "read the messages above"), end="", file=err)
    return exc.exit_code


def run(argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        stdout: IO[str] | int | None = None, echo: bool = True, check: bool = True) -> int:
    """Run a program as make would: echo its command line, let it use the terminal, and raise
    CommandFailed when it fails (unless check=False)."""
    if echo:
        moved = cwd is not None and Path(cwd).resolve() != Path.cwd().resolve()
        where = f"cd {os.path.relpath(cwd)} && " if moved else ""
        print(f"{where}{shlex.join(argv)}", flush=True)
    try:
        code = subprocess.run(list(argv), cwd=cwd, env=None if env is None else dict(env),
                              stdout=stdout, check=False).returncode
    except FileNotFoundError:
        raise OpsError(f"{argv[0]} is not installed here (or not on PATH)") from None
    if check and code != 0:
        raise CommandFailed(argv, code)
    return code
