"""Whole-process time of `repro-gen --help` and of rendering the largest example.

Prints the median of several runs and the ratio against a bare `python -c pass` measured in the
same invocation (so a slow machine shows up in the baseline, not as a regression).
Targets on a 2-core machine: --help under 0.15 s, render under 0.3 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15


def largest_example() -> Path:
    """The example whose render has the most files."""
    from repro_gen.loader import load
    from repro_gen.render import render

    return max(sorted((ROOT / "examples").glob("*.yaml")), key=lambda p: len(render(load(p))))


def median_seconds(cmd: list[str], runs: int = RUNS, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    example = largest_example()
    baseline = median_seconds([sys.executable, "-c", "pass"])
    cli = [sys.executable, "-m", "repro_gen"]
    help_s = median_seconds([*cli, "--help"])
    with tempfile.TemporaryDirectory() as tmp:
        # Fresh output directory each run: a first render, the expensive case.
        render_s = statistics.median(
            median_seconds([*cli, "render", str(example), "-o", f"{tmp}/out{i}"], runs=1)
            for i in range(RUNS)
        )
        rerender_s = median_seconds([*cli, "render", str(example), "-o", f"{tmp}/out0"])
        # Without the compiled-template cache: a first render after installing or upgrading.
        cold_env = {**os.environ, "REPRO_GEN_NO_CACHE": "1"}
        cold_s = statistics.median(
            median_seconds([*cli, "render", str(example), "-o", f"{tmp}/cold{i}"], runs=1,
                           env=cold_env)
            for i in range(RUNS)
        )
    print(f"runs per measurement: {RUNS} (median)")
    print(f"python -c pass        {baseline:6.3f} s")
    print(f"repro-gen --help      {help_s:6.3f} s  ({help_s / baseline:4.1f}x baseline; target < 0.15 s)")
    print(f"render {example.stem:<14} {render_s:6.3f} s  ({render_s / baseline:4.1f}x baseline; "
          "target < 0.3 s)")
    print(f"re-render, unchanged  {rerender_s:6.3f} s  ({rerender_s / baseline:4.1f}x baseline)")
    print(f"render, no template cache {cold_s:6.3f} s  ({cold_s / baseline:4.1f}x baseline)")


if __name__ == "__main__":
    main()
