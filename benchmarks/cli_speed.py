"""Whole-process cost of `repro-gen --help`, `validate` and a render of the largest example.

Every measurement runs once per round, rounds interleaved, so that a machine getting busier or
quieter during the run shifts all of them alike; it prints the median wall time and CPU time
(user + system of the child) of each, and ratios against two baselines measured in the same rounds:

- `python -c pass`: the interpreter alone (the target for --help: at most 2x);
- the floor, `python -c "import yaml, jinja2"`: the least any render can cost, since it parses
  YAML and runs Jinja (the target for validate and render: at most 2x).

Ratios use CPU time: on a shared machine wall time also counts waiting for a core. Children run
with bytecode writing allowed (as an installed package is) after one warm-up round that fills
the user cache (in a scratch XDG_CACHE_HOME). `--copier DIR` also times copier copying the
template in DIR (`copier copy --defaults`), with the copier found next to this Python or in
/tmp/copier-venv; the target there is a render at least 4x faster than copier.

    python benchmarks/cli_speed.py [ROUNDS] [--copier TEMPLATE_DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generator"))


def largest_example() -> Path:
    """The example whose render has the most files."""
    from repro_gen.loader import load
    from repro_gen.render import render

    return max(sorted((ROOT / "examples").glob("*.yaml")), key=lambda p: len(render(load(p))))


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def copier_command(template: Path, dest: str) -> list[str] | None:
    for candidate in (Path(sys.executable).parent / "copier", Path("/tmp/copier-venv/bin/copier")):
        if candidate.exists():
            return [str(candidate), "copy", "--defaults", "--quiet", "--overwrite",
                    "-d", "project_name=bench", "-d", "ml_framework=[pytorch]", str(template), dest]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=15)
    parser.add_argument("--copier", type=Path, help="a copier template folder to compare with")
    args = parser.parse_args()

    example = largest_example()
    py = sys.executable
    cli = [py, "-m", "repro_gen"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=f"{ROOT / 'generator'}", XDG_CACHE_HOME=f"{tmp}/cache")
        cold_env = {**env, "REPRO_GEN_NO_CACHE": "1"}
        counter = iter(range(10**6))
        cases: dict[str, tuple[callable, dict[str, str]]] = {
            "python -c pass": (lambda: [py, "-c", "pass"], env),
            "floor: import yaml, jinja2": (lambda: [py, "-c", "import yaml, jinja2"], env),
            "repro-gen --help": (lambda: [*cli, "--help"], env),
            "repro-gen --version": (lambda: [*cli, "--version"], env),
            f"validate {example.stem}": (lambda: [*cli, "validate", str(example)], env),
            # A fresh output directory each run: a first render, the expensive case.
            f"render {example.stem}": (
                lambda: [*cli, "render", str(example), "-o", f"{tmp}/out{next(counter)}"], env),
            "re-render, unchanged": (lambda: [*cli, "render", str(example), "-o", f"{tmp}/same"],
                                     env),
            # Without any cache: a first run after installing or upgrading.
            "render, no cache": (
                lambda: [*cli, "render", str(example), "-o", f"{tmp}/cold{next(counter)}"],
                cold_env),
            "validate, no cache": (lambda: [*cli, "validate", str(example)], cold_env),
        }
        if args.copier:
            copier = copier_command(args.copier, "")
            if copier is None:
                print("copier not found (pip install copier into /tmp/copier-venv)", file=sys.stderr)
            else:
                cases["copier copy"] = (
                    lambda: copier_command(args.copier, f"{tmp}/copier{next(counter)}"), env)
        # Warm-up: fills the user cache and the bytecode of the children.
        for make, case_env in cases.values():
            run_once(make(), case_env)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (make, case_env) in cases.items():
                samples[name].append(run_once(make(), case_env))
        shutil.rmtree(tmp, ignore_errors=True)

    wall = {n: statistics.median(s[0] for s in v) for n, v in samples.items()}
    cpu = {n: statistics.median(s[1] for s in v) for n, v in samples.items()}
    base, floor = cpu["python -c pass"], cpu["floor: import yaml, jinja2"]
    targets = {"repro-gen --help": ("pass", 2.0), "repro-gen --version": ("pass", 2.0),
               f"validate {example.stem}": ("floor", 2.0), f"render {example.stem}": ("floor", 2.0),
               "re-render, unchanged": ("floor", 2.0)}
    print(f"{args.rounds} interleaved rounds, medians; {example.name} is the largest example")
    print(f"{'':30} {'wall s':>7} {'cpu s':>7} {'cpu/pass':>8} {'cpu/floor':>9}  target")
    for name in cases:
        target = targets.get(name)
        verdict = ""
        if target:
            ratio = cpu[name] / (base if target[0] == "pass" else floor)
            verdict = f"<= {target[1]:.0f}x {target[0]}: {'ok' if ratio <= target[1] else 'MISSED'}"
        print(f"{name:30} {wall[name]:7.3f} {cpu[name]:7.3f} {cpu[name] / base:8.2f} "
              f"{cpu[name] / floor:9.2f}  {verdict}")
    if "copier copy" in cpu:
        name = f"render {example.stem}"
        ratio = cpu["copier copy"] / cpu[name]
        print(f"copier copy / render: {ratio:.1f}x CPU, {wall['copier copy'] / wall[name]:.1f}x"
              f" wall (target >= 4x: {'ok' if ratio >= 4 else 'MISSED'})")


if __name__ == "__main__":
    main()
