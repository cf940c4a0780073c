"""Shared by the training benchmarks: render a CPU spec into a scratch git checkout and import its
generated training modules (the code a researcher's repository would run)."""

from __future__ import annotations

import importlib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))

from repro_gen import spec as spec_mod  # noqa: E402
from repro_gen.project import render_into  # noqa: E402

SPEC = {"version": 1, "project": {"name": "bench-study"},
        "chameleon": {"site": "CHI@UC", "node_type": "compute_cascadelake_r"},
        "training": {"framework": "pytorch", "seed": 0}}


def rendered_checkout() -> Path:
    out = Path(tempfile.mkdtemp(prefix="repro-bench-"))
    render_into(spec_mod.validate(SPEC), out)
    for cmd in (["init", "-q"], ["add", "-A"],
                ["-c", "user.email=b@b", "-c", "user.name=b", "commit", "-q", "-m", "bench"]):
        subprocess.run(["git", "-C", str(out), *cmd], check=True)
    return out


def import_training(repo: Path):
    sys.path.insert(0, str(repo / "training"))
    return importlib.import_module("provenance"), importlib.import_module("runtime")


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000
