"""What per-step metric logging costs a training loop, logging vs not, in the same process.

A PyTorch step sized to take about 10 ms (100 steps per second) runs N steps without logging and
N steps logging two metrics per step through runtime.MetricBuffer (the generated code's logger:
append in the loop, batched log_batch from a background thread), and, for comparison, N steps
calling mlflow.log_metrics(synchronous=False) directly. Target: logging under 2 % of step time.

    python benchmarks/metric_logging_overhead.py [--steps 500] [--rounds 5] [--tracking-uri URI]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _training import import_training, rendered_checkout


def calibrated_step(torch, target_s: float):
    """A matrix multiply sized so one step takes about `target_s` on this machine."""
    torch.set_num_threads(1)
    n = 64
    while True:
        a = torch.randn(n, n)
        s = time.perf_counter()
        for _ in range(5):
            a @ a
        took = (time.perf_counter() - s) / 5
        if took >= target_s or n > 4096:
            break
        n = int(n * min(2.0, (target_s / max(took, 1e-6)) ** (1 / 3) * 1.05)) + 1
    return lambda: a @ a


def loop(step, steps: int, log=None) -> float:
    start = time.perf_counter()
    for i in range(steps):
        step()
        if log is not None:
            log(i)
    return (time.perf_counter() - start) / steps


def timeit_log(runtime, run_id: str, n: int = 100_000) -> float:
    """Median cost of one MetricBuffer.log call, flush thread idle (long interval)."""
    buffer = runtime.MetricBuffer(run_id, flush_every_s=3600)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(n):
            buffer.log({"loss": 0.5, "acc": 0.5}, i)
        samples.append((time.perf_counter() - start) / n)
        buffer._pending.clear()
    buffer.close()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tracking-uri", default=None, help="default: a local SQLite store")
    args = parser.parse_args()
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    repo = rendered_checkout()
    _, runtime = import_training(repo)
    import mlflow
    import torch

    mlflow.set_tracking_uri(args.tracking_uri or f"sqlite:///{repo / 'bench.db'}")
    experiment = runtime.set_experiment("bench")
    step = calibrated_step(torch, 0.010)
    # Short blocks of each mode, interleaved in a rotating order, many times: on a shared machine
    # the load drifts, and long runs of one mode would measure the drift instead of the logging.
    samples: dict[str, list[float]] = {"plain": [], "control": [], "buffered": [], "direct": []}
    with mlflow.start_run(experiment_id=experiment) as run:
        buffer = runtime.MetricBuffer(run.info.run_id)
        modes = {
            "plain": None,
            "control": None,  # a second no-logging mode: the noise floor
            "buffered": lambda i: buffer.log({"loss": 1.0 / (i + 1), "acc": 0.5}, i),
            "direct": lambda i: mlflow.log_metrics({"loss": 1.0 / (i + 1), "acc": 0.5}, step=i,
                                                   synchronous=False),
        }
        names = list(modes)
        for r in range(args.rounds * 10):
            for name in names[r % 4:] + names[: r % 4]:
                samples[name].append(loop(step, args.steps // 10, modes[name]))
        buffer.close()
        mlflow.flush_async_logging()
    plain, control, buffered, direct = (samples[k] for k in ("plain", "control", "buffered", "direct"))
    calls = timeit_log(runtime, run.info.run_id)
    print(f"MetricBuffer.log call alone: {calls * 1e6:.2f} µs (2 metrics)")
    base = statistics.median(plain)
    print(f"step time without logging: {base * 1000:.2f} ms ({1 / base:.0f} steps/s); "
          f"medians of {args.rounds * 10} interleaved blocks of {args.steps // 10} steps per mode")
    for name, samples in (("no logging again (noise floor)", control),
                          ("MetricBuffer (generated code)", buffered),
                          ("mlflow.log_metrics(synchronous=False)", direct)):
        med = statistics.median(samples)
        print(f"  {name:<40} {med * 1000:.3f} ms/step  overhead {100 * (med - base) / base:+.2f} %"
              f"  ratio {med / base:.4f}")


if __name__ == "__main__":
    main()
