"""The secrets of this repository, kept in .env (mode 0600, ignored by git).

    python3 -m ops secrets           # both of these, in order (`make secrets`, part of `make up`)
    python3 -m ops secrets ensure    # create .env or add what is missing
    python3 -m ops secrets check     # exit 1 and say what is missing

`ensure` generates strong random values for the passwords and keys the stack itself uses, and
leaves the ones only you can provide empty, with a note on where to get them. It never changes a
value that is already there, so re-running it is always safe; delete a line to regenerate it.
Values are hex: safe in URLs, shell words and compose files without quoting.
"""

from __future__ import annotations

import argparse
import os
import secrets
import stat
import sys
import tempfile
from pathlib import Path

from . import settings
from .steps import command

ENSURE = "python3 -m ops secrets ensure"


def names() -> tuple[list[str], dict[str, str], set[str]]:
    """The secrets of this project (ops/project.json): generated at random on first use; provided
    by you (name: where to get it), and those of yours that may stay empty."""
    listed = settings.project()["secrets"]
    return list(listed["generated"]), dict(listed["user_provided"]), set(listed["optional"])


def generate(name: str) -> str:
    if name.endswith("_USER"):
        return "u" + secrets.token_hex(8)
    return secrets.token_hex(32)  # 256 bits


def parse(text: str) -> dict[str, str]:
    """KEY=VALUE lines as compose reads them (comments and blank lines ignored)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with a file only its owner can read."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".env.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure(path: Path) -> int:
    generated, user_provided, _ = names()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = parse(text)
    if path.exists() and stat.S_IMODE(path.stat().st_mode) != 0o600:
        path.chmod(0o600)
        print(f"{path}: permissions tightened to 0600")
    lines = []
    if not text:
        lines.append("# Secrets of this repository (mode 0600, never committed). Values")
        lines.append("# already here are never changed by `python3 -m ops secrets`; delete")
        lines.append("# a line to regenerate it.")
    added = []
    for name in generated:
        if name not in present:
            lines.append(f"{name}={generate(name)}")
            added.append(name)
    for name, hint in user_provided.items():
        if name not in present:
            lines.append(f"# {hint}")
            lines.append(f"{name}=")
            added.append(name)
    if not lines:
        print(f"{path}: complete, nothing changed")
        return 0
    if text and not text.endswith("\n"):
        text += "\n"
    write_private(path, text + "\n".join(lines) + "\n")
    print(f"{path}: added {', '.join(added)}")
    return 0


def check(path: Path) -> int:
    generated, user_provided, optional = names()
    if not path.exists():
        print(f"{path} does not exist: run {ENSURE}", file=sys.stderr)
        return 1
    problems = []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode != 0o600:
        problems.append(f"{path} has mode {mode:04o}; it must be 0600"
                        f" ({ENSURE} fixes it)")
    values = parse(path.read_text(encoding="utf-8"))
    for name in generated:
        if not values.get(name):
            problems.append(f"{name} is missing: run {ENSURE}")
    for name, hint in user_provided.items():
        if not values.get(name) and name not in optional:
            problems.append(f"{name} is empty: {hint}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{path}: every secret is set")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = command(commands, "secrets", main, "create .env (mode 0600) with generated passwords, then"
                " check that every secret is set", "fill in the values named above in .env",
                description=__doc__.split("\n\n")[0])
    p.add_argument("action", nargs="?", choices=("ensure", "check"),
                   help="only this half (default: ensure, then check)")
    p.add_argument("--env-file", type=Path, default=settings.ROOT / ".env",
                   help="default: .env at the repository root")


def main(args: argparse.Namespace) -> int:
    if args.action in (None, "ensure") and ensure(args.env_file) != 0:
        return 1
    if args.action in (None, "check"):
        return check(args.env_file)
    return 0
