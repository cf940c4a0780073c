"""runtime.MetricBuffer under contention: the training thread appends while flushes drain, and every
point reaches the tracking client exactly once. One test forces the losing interleaving (a flush
runs to the end between the training thread reading the queue and appending to it), one stresses
the buffer with threads.

The MLflow client is replaced by a recorder (a stand-in): the check is about the buffer's hand-off
between threads, and counting a million points through a real server would take minutes. Real
MLflow batches are exercised by test_runs.py.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path

import pytest

# runtime.py imports mlflow: not in the fast tier (tests/support/tiers.py).
pytestmark = pytest.mark.heavy

TRAINING = Path(__file__).resolve().parents[2] / "blueprints" / "training"


def _load(name: str, path: Path, monkeypatch):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def runtime(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    _load("provenance", TRAINING / "provenance.py", monkeypatch)
    return _load("runtime", TRAINING / "runtime.py", monkeypatch)


class _Recorder:
    """Stand-in for MlflowClient.log_batch: keeps every metric it is sent."""

    def __init__(self) -> None:
        self.points: list[tuple[str, float, int]] = []

    def log_batch(self, run_id: str, metrics) -> None:
        self.points.extend((m.key, m.value, m.step) for m in metrics)


def test_point_logged_across_a_whole_flush_is_sent(runtime, monkeypatch):
    """log() evaluates `self._pending.append` before its argument's time.time(); a flush that runs
    completely inside that call must not take the queue away from under the point."""
    buffer = runtime.MetricBuffer("run-under-test", flush_every_s=3600)
    recorder = _Recorder()
    buffer.client = recorder
    real_time = runtime.time

    class _FlushInsideTime:
        @staticmethod
        def time() -> float:
            flusher = threading.Thread(target=buffer.flush)  # another thread, as in training
            flusher.start()
            flusher.join()
            return real_time.time()

    buffer.log({"loss": 1.0}, 0)
    monkeypatch.setattr(runtime, "time", _FlushInsideTime)
    buffer.log({"loss": 0.5}, 1)
    monkeypatch.setattr(runtime, "time", real_time)
    buffer.close()
    assert sorted(recorder.points) == [("loss", 0.5, 1), ("loss", 1.0, 0)]


def test_no_point_is_lost_while_flushes_race_appends(runtime, monkeypatch):
    # Switch threads as often as possible, so appends land in the middle of every flush.
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(5e-6)
    try:
        buffer = runtime.MetricBuffer("run-under-test", flush_every_s=0.001, max_batch=7)
        recorder = _Recorder()
        buffer.client = recorder
        writers, per_writer = 4, 50_000
        done = threading.Event()

        def write(w: int) -> None:
            for step in range(per_writer):
                buffer.log({f"w{w}": float(step)}, step)

        def flush_hard() -> None:
            while not done.is_set():
                buffer.flush()

        flusher = threading.Thread(target=flush_hard)
        flusher.start()
        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        flusher.join()
        buffer.close()
    finally:
        sys.setswitchinterval(old_interval)

    assert len(recorder.points) == writers * per_writer
    for w in range(writers):
        steps = sorted(step for key, _, step in recorder.points if key == f"w{w}")
        assert steps == list(range(per_writer)), f"writer {w}: points lost or sent twice"
