#!/usr/bin/env python3
"""Regenerate generator/repro_gen/hardware_data.py from Chameleon's reference repository.

Chameleon describes every bare-metal node it offers in github ChameleonCloud/reference-repository,
one JSON file per node: data/chameleoncloud/sites/<site>/clusters/chameleon/nodes/<uuid>.json
(fields node_type, architecture.platform_type, gpu.gpu_vendor, gpu.gpu_model, gpu.gpu_count), and
names each site in data/chameleoncloud/sites/<site>/<site>.json (field name, e.g. CHI@UC). This
script reads those files at one commit and writes the per-site table the catalog is built from,
with the commit it came from. It never edits the table by hand: rerun it to pick up new hardware.

    python tools/refresh_hardware.py /path/to/reference-repository [--rev HEAD]

The path may be a work tree or a bare clone; files are read with `git show REV:PATH`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "generator" / "repro_gen" / "hardware_data.py"
REPOSITORY = "ChameleonCloud/reference-repository"
# The bare-metal sites repro-gen provisions (the others in the repository are edge/partner sites).
SITES = ("uc", "tacc")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def read_nodes(repo: Path, rev: str) -> tuple[str, str, dict[str, dict[str, Any]]]:
    commit = git(repo, "rev-parse", f"{rev}^{{commit}}").strip()
    date = git(repo, "show", "-s", "--format=%cs", commit).strip()
    files = git(repo, "ls-tree", "-r", "--name-only", commit, "data/chameleoncloud/sites").split()
    types: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "sites": defaultdict(int), "architectures": set(), "gpu_vendors": set(),
        "gpu_models": set(), "gpu_counts": set(), "nodes_without_gpu": 0})
    for site in SITES:
        site_dir = f"data/chameleoncloud/sites/{site}"
        site_name = json.loads(git(repo, "show", f"{commit}:{site_dir}/{site}.json"))["name"]
        prefix = f"{site_dir}/clusters/chameleon/nodes/"
        for path in sorted(f for f in files if f.startswith(prefix) and f.endswith(".json")):
            node = json.loads(git(repo, "show", f"{commit}:{path}"))
            t = types[node["node_type"]]
            t["sites"][site_name] += 1
            t["architectures"].add(node["architecture"]["platform_type"])
            gpu = node.get("gpu") or {}
            if gpu.get("gpu"):
                t["gpu_vendors"].add(gpu["gpu_vendor"])
                t["gpu_models"].add(gpu["gpu_model"])
                t["gpu_counts"].add(int(gpu["gpu_count"]))
            else:
                t["nodes_without_gpu"] += 1
    return commit, date, types


def literal(value: Any) -> str:
    """A Python literal with double-quoted strings (the project's style), deterministic."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (tuple, set, frozenset)):
        items = [literal(v) for v in sorted(value)]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return repr(value)


def render(commit: str, date: str, types: dict[str, dict[str, Any]]) -> str:
    lines = [
        '"""Chameleon bare-metal node types per site, generated from Chameleon\'s hardware data.',
        "",
        f"Source: github {REPOSITORY} ({date}),",
        f"commit {commit},",
        "data/chameleoncloud/sites/<site>/clusters/chameleon/nodes/*.json. Do not edit: regenerate",
        "with",
        "    python tools/refresh_hardware.py /path/to/reference-repository",
        "catalog.py turns these rows into the node types a spec may ask for.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"SOURCE = {literal(REPOSITORY)}",
        f"COMMIT = {literal(commit)}",
        f"DATE = {literal(date)}",
        "",
        "# node_type: sites (with how many nodes each has), CPU architectures, GPU vendors, GPU models,",
        "# GPUs per node (every count seen), and how many nodes of the type have no GPU.",
        "NODE_TYPES: dict[str, dict] = {",
    ]
    for name in sorted(types):
        t = types[name]
        lines.append(f"    {literal(name)}: {{")
        for key in ("sites", "architectures", "gpu_vendors", "gpu_models", "gpu_counts",
                    "nodes_without_gpu"):
            lines.append(f"        {literal(key)}: {literal(t[key])},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", type=Path, help="a clone of ChameleonCloud/reference-repository")
    parser.add_argument("--rev", default="HEAD", help="commit or branch to read (default HEAD)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed table differs from what REV gives")
    args = parser.parse_args(argv)
    text = render(*read_nodes(args.repo, args.rev))
    if args.check:
        same = OUT.read_text(encoding="utf-8") == text
        print(f"{OUT.relative_to(ROOT)} is {'up to date' if same else 'stale: rerun without --check'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
