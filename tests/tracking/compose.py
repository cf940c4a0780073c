"""Read a service's command and environment from a rendered compose file, as compose would.

Interpolation follows the compose spec for the forms our templates use: `${VAR}`,
`${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}` and `$$`. The compose
test checks this reading against `docker compose config` itself, so the native end-to-end tests
run exactly what compose would start.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

_VAR = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\})")


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name)
        unset_or_empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset_or_empty else value
        if op in (":?", "?"):
            if unset_or_empty:
                raise MissingVariable(f"{name}: {arg}")
            return value
        return value or ""

    return _VAR.sub(sub, text)


def _walk(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_walk(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _walk(value, env) for key, value in node.items()}
    return node


def load(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """The compose file with YAML merge keys resolved and variables substituted."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _walk(data, env)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def service(path: Path, name: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(command, environment) of one service, both as compose would pass them."""
    svc = load(path, env)["services"][name]
    command = svc.get("command") or []
    if isinstance(command, str):
        command = command.split()
    environment = svc.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return [str(c) for c in command], {k: str(v) for k, v in environment.items()}
