"""How long provenance capture takes at the start of a run.

Collects every fact (git, packages, framework, system, GPUs, Chameleon metadata with the service
absent, repro-gen state) and records it to an MLflow run in a local SQLite store, repeatedly, and
prints medians. The metadata service is pointed at a closed local port: off Chameleon that is the
realistic case, and the 169.254.169.254 address must not be contacted from test machines.

    python benchmarks/provenance_overhead.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import time

from _training import import_training, median_ms, rendered_checkout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    os.environ["REPRO_METADATA_URL"] = "http://127.0.0.1:9/openstack/latest"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    repo = rendered_checkout()
    provenance, runtime = import_training(repo)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{repo / 'bench.db'}")
    experiment = runtime.set_experiment("bench")
    collect, record, parts = [], [], {}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        facts, artifacts = provenance.collect("pytorch", "none", repo / "training")
        t1 = time.perf_counter()
        with mlflow.start_run(experiment_id=experiment):
            provenance.record(facts, artifacts, seed=0, expect_gpu=False, expect_gpu_source="config")
        t2 = time.perf_counter()
        collect.append(t1 - t0)
        record.append(t2 - t1)
        for name, fn in (("git", lambda: provenance.git_facts(repo)),
                         ("packages", provenance.installed_packages),
                         ("framework", lambda: provenance.framework_facts("pytorch")),
                         ("gpu (NVML absent)", provenance.nvidia_facts),
                         ("chameleon (absent)", provenance.chameleon_facts)):
            s = time.perf_counter()
            fn()
            parts.setdefault(name, []).append(time.perf_counter() - s)
    total = [c + r for c, r in zip(collect, record, strict=True)]
    print(f"provenance capture, {args.repeat} runs (medians):")
    print(f"  collect facts         {median_ms(collect):8.1f} ms")
    for name, samples in parts.items():
        print(f"    {name:<20}{median_ms(samples):8.1f} ms")
    print(f"  record to MLflow      {median_ms(record):8.1f} ms  (SQLite store, local artifacts)")
    print(f"  total at run start    {median_ms(total):8.1f} ms")


if __name__ == "__main__":
    main()
