#!/usr/bin/env python3
"""Where the nodes are and how they are doing; used by the Makefile, runnable on its own.

    python3 scripts/status.py head-target   # cc@<head address>, for ssh
    python3 scripts/status.py summary       # nodes, addresses, how to reach MLflow
    python3 scripts/status.py health        # GPUs, tracking stack and MLflow on the head node

Reads ansible/inventory/terraform-output.json, which `make inventory` saves from Terraform's
`inventory` output. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "ansible" / "inventory" / "terraform-output.json"
NODE_DIR = os.environ.get("NODE_DIR", '/opt/tabular-baselines')
TRACKING_PROJECT = 'tabular-baselines-tracking'
ACCELERATOR = 'none'
GPU_PROBE = {
    "nvidia": "nvidia-smi --query-gpu=index,name,driver_version,memory.used,memory.total,"
              "utilization.gpu --format=csv,noheader",
    "amd": "rocm-smi --showproductname --showuse --showmemuse",
    "none": "echo 'no GPU expected on this node type'",
}[ACCELERATOR]


class StatusError(Exception):
    pass


def inventory() -> dict:
    if not OUTPUT.is_file():
        raise StatusError(f"{OUTPUT.relative_to(ROOT)} is missing: run `make up` (or `make inventory`)")
    return json.loads(OUTPUT.read_text(encoding="utf-8"))


def head_target() -> str:
    inv = inventory()
    head = inv["head"]
    address = head.get("floating_ip") or head["fixed_ip"]
    return f"{inv.get('ssh_user', 'cc')}@{address}"


def ssh(command: str) -> subprocess.CompletedProcess[str]:
    argv = ["ssh", *shlex.split(os.environ.get("SSH_OPTS", "")), "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10", head_target(), command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def summary() -> None:
    inv = inventory()
    print(f"site {inv.get('site', '?')}, reservation {inv.get('reservation_id') or '?'}")
    for node in inv["nodes"]:
        reach = node.get("floating_ip") or f"{node['fixed_ip']} (via the head node)"
        print(f"  {node['name']:<24} {node.get('role', ''):<7} {reach}")
    print(f"\nssh:       make ssh          ({head_target()})")
    print("MLflow UI: make mlflow-ui     then open http://127.0.0.1:5000")
    print("train:     make train ARGS='--set train.steps=500'   (any setting in training/config.yaml)")
    print("lease:     make status        (time left; a KVM lease cannot be extended)")


def health() -> int:
    checks = [
        ("GPUs", GPU_PROBE),
        # By compose label: `docker compose ps` would need the root-only .env to read the file.
        ("tracking stack", (f"docker ps --filter label=com.docker.compose.project={TRACKING_PROJECT} "
                            "--format '{{.Label \"com.docker.compose.service\"}}: {{.Status}}' | grep .")),
        ("MLflow", "curl -fsS --max-time 5 http://127.0.0.1:5000/health"),
    ]
    worst = 0
    for name, command in checks:
        try:
            result = ssh(command)
        except subprocess.TimeoutExpired:
            print(f"{name}: no answer within 60 s")
            worst = 1
            continue
        text = (result.stdout or result.stderr).strip() or "(no output)"
        mark = "ok" if result.returncode == 0 else "FAILED"
        print(f"{name} [{mark}]\n  " + text.replace("\n", "\n  "))
        worst = max(worst, 0 if result.returncode == 0 else 1)
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["head-target", "summary", "health"])
    args = parser.parse_args(argv)
    try:
        if args.command == "head-target":
            print(head_target())
        elif args.command == "summary":
            summary()
        else:
            return health()
    except StatusError as exc:
        print(f"status: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
