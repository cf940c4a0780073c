#!/usr/bin/env python3
"""Write the Ansible inventory from Terraform's `inventory` output. Never edit the result by hand.

    terraform -chdir=terraform output -json inventory \
        | python3 ansible/inventory/from_terraform.py -o ansible/inventory/hosts.yml

Input (what terraform/outputs.tf publishes):

    {"ssh_user": "cc",
     "nodes": [{"name": "study-1", "fixed_ip": "10.52.0.11", "floating_ip": "129.114.0.9", "ssh_user": "cc"},
               {"name": "study-2", "fixed_ip": "10.52.0.12", "floating_ip": null, "ssh_user": "cc"}]}

The first node is the head (it runs the tracking stack) and must have a floating IP. Nodes without
one are reached through the head with an SSH ProxyCommand, so only the head is exposed.
Groups: `head` (node 1) and `nodes` (every node, the head included).

Standard library only: it runs before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
import tempfile
from typing import Any

HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
HEADER = (
    "# Written by inventory/from_terraform.py from `terraform output -json inventory`.\n"
    "# Do not edit: it is rewritten after every `terraform apply` (and ignored by git).\n"
)


class InventoryError(ValueError):
    """Terraform's output does not describe a usable set of nodes."""


def _ip(value: Any, what: str) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise InventoryError(f"{what}: {value!r} is not an IP address") from None


def _user(value: Any, what: str) -> str:
    if not isinstance(value, str) or not USER_NAME.match(value):
        raise InventoryError(f"{what}: {value!r} is not a valid user name")
    return value


def _unwrap(data: Any) -> Any:
    # `terraform output -json` (all outputs) wraps each value as {"value": ..., "type": ...}.
    if isinstance(data, dict) and "inventory" in data:
        data = data["inventory"]
    if isinstance(data, dict) and set(data) >= {"value", "type"}:
        data = data["value"]
    return data


def build(data: Any) -> dict[str, Any]:
    """Terraform's inventory output -> the YAML inventory as a dict."""
    data = _unwrap(data)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list) or not data["nodes"]:
        raise InventoryError("expected an object with a non-empty `nodes` list "
                             "(is the lease active and `terraform apply` done?)")
    default_user = _user(data.get("ssh_user", "cc"), "ssh_user")
    nodes = data["nodes"]
    hosts: dict[str, dict[str, str]] = {}
    head_name = ""
    head_user = default_user
    head_ip = ""
    for i, node in enumerate(nodes):
        where = f"nodes[{i}]"
        if not isinstance(node, dict):
            raise InventoryError(f"{where}: expected an object, got {node!r}")
        name = node.get("name")
        if not isinstance(name, str) or not HOST_NAME.match(name):
            raise InventoryError(f"{where}.name: {name!r} is not a valid host name")
        if name in hosts:
            raise InventoryError(f"{where}.name: {name!r} appears twice")
        fixed_ip = _ip(node.get("fixed_ip"), f"{where}.fixed_ip")
        floating = node.get("floating_ip")
        user = _user(node.get("ssh_user") or default_user, f"{where}.ssh_user")
        host: dict[str, str] = {"fixed_ip": fixed_ip}
        if i == 0:
            if not floating:
                raise InventoryError(f"{where} ({name}) is the head node but has no floating IP; "
                                     "nothing else can be reached")
            head_name, head_user, head_ip = name, user, _ip(floating, f"{where}.floating_ip")
        if floating:
            host["ansible_host"] = _ip(floating, f"{where}.floating_ip")
        else:
            # Reach it on the shared network through the head; accept-new keeps host-key checking on
            # while letting freshly deployed nodes in.
            host["ansible_host"] = fixed_ip
            host["ansible_ssh_common_args"] = (
                f"-o ProxyCommand=\"ssh -W %h:%p -o StrictHostKeyChecking=accept-new "
                f"{head_user}@{head_ip}\"")
        if user != default_user:
            host["ansible_user"] = user
        hosts[name] = host
    return {
        "all": {
            "vars": {"ansible_user": default_user, "ansible_python_interpreter": "/usr/bin/python3"},
            "children": {
                "head": {"hosts": {head_name: None}},
                "nodes": {"hosts": hosts},
            },
        }
    }


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for nested dicts of strings; scalars are JSON strings (valid YAML)."""
    pad = "  " * indent
    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:")
            lines.append(to_yaml(item, indent + 1))
        elif item is None:
            lines.append(f"{pad}{key}:")
        else:
            lines.append(f"{pad}{key}: {json.dumps(item)}")
    return "\n".join(line for line in lines if line)


def render(data: Any) -> str:
    return HEADER + "---\n" + to_yaml(build(data)) + "\n"


def write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".hosts.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", nargs="?", default="-",
                        help="JSON from `terraform output -json inventory` (default: stdin)")
    parser.add_argument("-o", "--output", default="-", help="inventory file to write (default: stdout)")
    args = parser.parse_args(argv)
    try:
        if args.input == "-":
            raw = sys.stdin.read()
        else:
            with open(args.input, encoding="utf-8") as handle:
                raw = handle.read()
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InventoryError(f"input is not JSON ({exc}); pipe `terraform output -json inventory`") \
                from None
        text = render(data)
    except (InventoryError, OSError) as exc:
        print(f"from_terraform.py: {exc}", file=sys.stderr)
        return 2
    if args.output == "-":
        sys.stdout.write(text)
    else:
        write_atomically(args.output, text)
        print(f"wrote {args.output} ({text.count('ansible_host:')} hosts)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
