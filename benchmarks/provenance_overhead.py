"""How long provenance capture takes at the start of a run.

Collects every fact (git, packages, framework, system, GPUs, Chameleon metadata with the service
absent, repro-gen state), opens an MLflow run in a local SQLite store the way runtime.start does,
and records the facts to it. Two measurements, both as medians:

- first capture in a fresh process (what a training run pays: caches cold, GitPython and the other
  lazy imports not yet done), after importing mlflow and torch as a training script does;
- repeated captures in one process, with the time of each part.

Each is printed with its ratio to a baseline measured in the same invocation: one `git rev-parse
HEAD` (the cheapest command capture runs), so that a loaded machine shows up in the baseline
rather than as a regression. The package listing is also compared with listing the same packages
through importlib.metadata's parsed metadata (name and version of each distribution). Target on a
2-core machine: under 150 ms at run start.

The metadata service is pointed at a closed local port: off Chameleon that is the realistic case,
and the 169.254.169.254 address must not be contacted from test machines.

    python benchmarks/provenance_overhead.py [--repeat 10] [--fresh 5] [--with-ipython]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _training import import_training, median_ms, rendered_checkout


def pytorch_framework(provenance):
    """The FRAMEWORK constant of a rendered PyTorch script."""
    return provenance.Framework("pytorch", "torch", "torch")


def reference_packages() -> str:
    """The installed-package listing through importlib.metadata's parsed metadata."""
    from importlib import metadata

    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            seen.setdefault(name.lower(), f"{name}=={dist.version}")
    return "".join(line + "\n" for _, line in sorted(seen.items()))


def open_run(runtime, experiment: str):
    opener = getattr(runtime, "open_run", None)  # older renders: plain start_run
    if opener is None:
        import mlflow

        return mlflow.start_run(experiment_id=experiment)
    return opener(experiment, None)


def capture(provenance, runtime, repo: Path, experiment: str) -> tuple[float, float, float]:
    """(collect, open run, record) seconds for one capture."""
    import mlflow

    t0 = time.perf_counter()
    facts, artifacts = provenance.collect(pytorch_framework(provenance), "none", repo / "training")
    t1 = time.perf_counter()
    open_run(runtime, experiment)
    t2 = time.perf_counter()
    try:
        provenance.record(facts, artifacts, seed=0, expect_gpu=False, expect_gpu_source="config")
    finally:
        t3 = time.perf_counter()
        mlflow.end_run()
    return t1 - t0, t2 - t1, t3 - t2


class _NoIPython:
    """A finder that makes IPython unimportable, as in the training image and .venv-train."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "IPython" or name.startswith("IPython."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None


def child(repo: Path, experiment: str) -> None:
    """One capture in this fresh process (experiment: a name); prints its timings as JSON."""
    if os.environ.get("BENCH_NO_IPYTHON"):
        # MLflow's start_run imports IPython, when it can, to ask whether it runs in a notebook:
        # seconds on a 2-core machine, paid where IPython is installed (here, not in the image).
        sys.meta_path.insert(0, _NoIPython())
    import mlflow
    import torch  # noqa: F401  (a training script has imported its framework before start())

    provenance, runtime = import_training(repo)
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'bench.db'}")
    # As runtime.start: the store is opened (and the experiment found) before provenance.
    experiment_id = runtime.set_experiment(experiment)
    print(json.dumps(capture(provenance, runtime, repo, experiment_id)))


def git_baseline(repo: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="captures in one process")
    parser.add_argument("--fresh", type=int, default=5, help="fresh processes, one capture each")
    parser.add_argument("--with-ipython", action="store_true",
                        help="let fresh processes import IPython (by default they cannot, as in the"
                             " training image and .venv-train, where it is not installed)")
    parser.add_argument("--child", nargs=2, metavar=("REPO", "EXPERIMENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ["REPRO_METADATA_URL"] = "http://127.0.0.1:9/openstack/latest"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    if args.child:
        child(Path(args.child[0]), args.child[1])
        return
    repo = rendered_checkout()
    provenance, runtime = import_training(repo)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'bench.db'}")
    experiment = runtime.set_experiment("bench")
    baseline: list[float] = []

    fresh: list[tuple[float, float, float]] = []
    for _ in range(args.fresh):
        baseline.append(git_baseline(repo))
        env = {**os.environ, **({} if args.with_ipython else {"BENCH_NO_IPYTHON": "1"})}
        done = subprocess.run([sys.executable, __file__, "--child", str(repo), "bench"],
                              check=True, capture_output=True, text=True, env=env)
        fresh.append(tuple(json.loads(done.stdout.splitlines()[-1])))

    collect, opened, record, parts = [], [], [], {}
    for _ in range(args.repeat):
        baseline.append(git_baseline(repo))
        c, o, r = capture(provenance, runtime, repo, experiment)
        collect.append(c)
        opened.append(o)
        record.append(r)
        for name, fn in (("git", lambda: provenance.git_facts(repo)),
                         ("packages", provenance.installed_packages),
                         ("packages, reference", reference_packages),
                         ("framework",
                          lambda: provenance.framework_facts(pytorch_framework(provenance))),
                         ("gpu (NVML absent)", provenance.nvidia_facts),
                         ("chameleon (absent)", provenance.chameleon_facts)):
            s = time.perf_counter()
            fn()
            parts.setdefault(name, []).append(time.perf_counter() - s)
    same = provenance.installed_packages() == reference_packages()

    base = median_ms(baseline)
    print(f"baseline: one `git rev-parse HEAD`  {base:8.1f} ms  ({len(baseline)} runs, median)")
    if fresh:
        totals = [sum(t) for t in fresh]
        first = median_ms(totals)
        ipython = "IPython importable, if installed" if args.with_ipython else "IPython hidden"
        print(f"first capture in a fresh process, {len(fresh)} processes ({ipython}; medians):")
        for i, name in enumerate(("collect facts", "open the run", "record to MLflow")):
            print(f"  {name:<22}{median_ms([t[i] for t in fresh]):8.1f} ms")
        print(f"  total at run start    {first:8.1f} ms  ({first / base:5.1f}x baseline;"
              " target < 150 ms)")
    total = [c + o + r for c, o, r in zip(collect, opened, record, strict=True)]
    print(f"repeated captures in one process, {args.repeat} runs (medians):")
    print(f"  collect facts         {median_ms(collect):8.1f} ms")
    for name, samples in parts.items():
        print(f"    {name:<20}{median_ms(samples):8.1f} ms")
    ratio = median_ms(parts["packages"]) / median_ms(parts["packages, reference"])
    print(f"    packages / reference listing: {ratio:.3f}x (same listing: {'yes' if same else 'NO'})")
    print(f"  open the run          {median_ms(opened):8.1f} ms")
    print(f"  record to MLflow      {median_ms(record):8.1f} ms  (SQLite store, local artifacts)")
    print(f"  total                 {median_ms(total):8.1f} ms  "
          f"({median_ms(total) / base:5.1f}x baseline)")


if __name__ == "__main__":
    main()
