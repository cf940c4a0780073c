"""Where the nodes are and how they are doing.

    python3 -m ops summary   # nodes, addresses, how to reach MLflow, the lease's end (`make up`)
    python3 -m ops status    # the lease (asks Blazar); GPUs, tracking stack, MLflow on the node

Reads ansible/inventory/terraform-output.json, which `make inventory` saves from Terraform's
`inventory` output.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from . import lease, node, settings
from .steps import OpsError, command, report

GPU_PROBES = {
    "nvidia": "nvidia-smi --query-gpu=index,name,driver_version,memory.used,memory.total,"
              "utilization.gpu --format=csv,noheader",
    "amd": "rocm-smi --showproductname --showuse --showmemuse",
    "none": "echo 'no GPU expected on this node type'",
}


def summary(args: argparse.Namespace) -> int:
    inv = node.inventory()
    print(f"site {inv.get('site', '?')}, reservation {inv.get('reservation_id') or '?'}")
    for host in inv["nodes"]:
        reach = host.get("floating_ip") or f"{host['fixed_ip']} (via the head node)"
        print(f"  {host['name']:<24} {host.get('role', ''):<7} {reach}")
    print(f"\nssh:       make ssh          ({node.head_target(inv)})")
    print(f"MLflow UI: make mlflow-ui     then open {settings.TRACKING_URL}")
    print("train:     make train ARGS='--set train.steps=500'"
          "   (any setting in training/config.yaml)")
    if settings.project()["lease"]["kind"] == "baremetal":
        print("lease:     make status        (time left; extend with"
              " python3 -m ops lease extend --hours N)")
    else:
        print("lease:     make status        (time left; a KVM lease cannot be extended)")
    if lease.STATUS_FILE.is_file():
        print(lease.cached(lease.STATUS_FILE, None))
    return 0


def health_checks() -> list[tuple[str, str]]:
    project = settings.project()
    stack = project["tracking"]["compose_project"]
    return [
        ("GPUs", GPU_PROBES[project["accelerator"] or "none"]),
        # By compose label: `docker compose ps` would need the root-only .env to read the file.
        ("tracking stack", f"docker ps --filter label=com.docker.compose.project={stack} --format"
                           " '{{.Label \"com.docker.compose.service\"}}: {{.Status}}' | grep ."),
        ("MLflow", "curl -fsS --max-time 5 http://127.0.0.1:5000/health"),
    ]


def health() -> int:
    worst = 0
    for name, probe in health_checks():
        argv = node.ssh_argv(probe, options=("-o", "BatchMode=yes", "-o", "ConnectTimeout=10"))
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            print(f"{name}: no answer within 60 s")
            worst = 1
            continue
        text = (result.stdout or result.stderr).strip() or "(no output)"
        mark = "ok" if result.returncode == 0 else "FAILED"
        print(f"{name} [{mark}]\n  " + text.replace("\n", "\n  "))
        worst = max(worst, 0 if result.returncode == 0 else 1)
    return worst


def status(args: argparse.Namespace) -> int:
    # The lease first, from Blazar; its failure (no lease yet, no network) does not stop the rest.
    try:
        lease.run(argparse.Namespace(lease_command="status", json=False),
                  lease.load_config(settings.project()))
    except OpsError as exc:
        report(exc)
    sys.stdout.flush()
    return health()


def add_parser(commands: argparse._SubParsersAction) -> None:
    command(commands, "summary", summary, "node addresses, lease end and how to reach MLflow",
            "make inventory")
    command(commands, "status", status, "lease time left, node and GPU health, tracking stack"
            " health", "make ssh, then look at the checks that failed")
