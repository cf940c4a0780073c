"""The plumbing every training script shares: configuration, the MLflow run, checkpoints, metrics.

Framework code lives in the training script; this module only knows about files, MLflow and the
environment, so that replacing the model never means touching resume or provenance logic.

Environment variables it reads:
  MLFLOW_TRACKING_URI    the tracking server (compose sets http://mlflow:5000). Unset: a local
                         SQLite store under mlruns/ in the repository, for laptop debugging.
  REPRO_RESUME_RUN_ID    same as --resume-run-id.
  REPRO_CHECKPOINT_DIR   where checkpoints are written before upload (default: checkpoints/).
  REPRO_DATA_DIR         where datasets are cached (default: data/).
  REPRO_EXPECT_GPU       0 to run on the CPU although the spec expects a GPU (recorded in the run).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import random
import shlex
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import yaml
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

import provenance

TRAINING_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = provenance.find_project_root(TRAINING_DIR) or TRAINING_DIR.parent
CHECKPOINT_ARTIFACTS = "checkpoints"


# ----- configuration -----------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None, description: str = "") -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", type=Path, default=TRAINING_DIR / "config.yaml",
                        help="YAML settings (default: training/config.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting, e.g. --set train.lr=0.01 (value parsed as YAML)")
    parser.add_argument("--resume-run-id", default=os.environ.get("REPRO_RESUME_RUN_ID") or None,
                        help="reopen this MLflow run and continue from its last checkpoint")
    parser.add_argument("--stop-after-steps", type=int, default=None,
                        help="leave the run unfinished after this many steps (tests resume)")
    return parser.parse_args(argv)


def load_config(path: Path, overrides: list[str]) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set {item!r}: use KEY=VALUE, e.g. --set train.lr=0.01")
        node = config
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SystemExit(f"--set {item!r}: {part} is not a section")
        if leaf not in node:
            raise SystemExit(f"--set {item!r}: unknown setting {key} (see {path.name})")
        node[leaf] = yaml.safe_load(raw)
    return config


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def seed_everything(seed: int) -> None:
    """Seed Python and NumPy; frameworks seed themselves in the training script.

    String hashing (set and dict iteration order of str keys) is fixed only by PYTHONHASHSEED in
    the environment the interpreter starts with: compose/train.yml and `make train-local` set it,
    and provenance records the value this process started with (repro.run.python_hash_seed).
    """
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if provenance.python_hash_seed() == "random":
        print("note: PYTHONHASHSEED is not set, so str hashes (and set order) differ between runs;"
              " make train and make train-local set it", file=sys.stderr)


def _checkpoint_path(run_id: str) -> Path:
    return Path(os.environ.get("REPRO_CHECKPOINT_DIR") or PROJECT_ROOT / "checkpoints") / run_id


def checkpoint_dir(run_id: str) -> Path:
    """This run's local checkpoint folder (created): checkpoints are written here, then uploaded."""
    path = _checkpoint_path(run_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    path = Path(os.environ.get("REPRO_DATA_DIR") or PROJECT_ROOT / "data")
    path.mkdir(parents=True, exist_ok=True)
    return path


# ----- the MLflow run ----------------------------------------------------------------------------

def configure_tracking() -> str:
    """The tracking URI in use. Without a server, a SQLite store inside the repository."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        local = PROJECT_ROOT / "mlruns"
        local.mkdir(exist_ok=True)
        uri = f"sqlite:///{local / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    return uri


def set_experiment(name: str) -> str:
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if mlflow.get_tracking_uri().startswith("sqlite:"):
        location = (PROJECT_ROOT / "mlruns" / "artifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException:  # created concurrently by another process
        return client.get_experiment_by_name(name).experiment_id


def announce(run_id: str, experiment_id: str, experiment: str, facts: dict[str, Any]) -> None:
    """Say where the run is and what it will record, before the first step."""
    uri = mlflow.get_tracking_uri()
    if uri.startswith("sqlite:"):
        # This interpreter has mlflow (the venv's `mlflow` script need not be on PATH), and the
        # store's URI is absolute: the command works from any folder.
        ui = shlex.join([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri])
        where = f"{ui}   (then http://127.0.0.1:5000; or make mlflow-ui-local)"
    else:
        # Inside the node the server is http://mlflow:5000; you reach it through `make mlflow-ui`.
        ui = os.environ.get("REPRO_UI_URL", "http://127.0.0.1:5000")
        where = f"{ui}/#/experiments/{experiment_id}/runs/{run_id}   (open `make mlflow-ui` first)"
    gpu = facts.get("gpu.model") if str(facts.get("gpu.count", "0")) not in ("0", "") else None
    lines = [
        f"MLflow run {run_id} in experiment {experiment!r}",
        f"  view: {where}",
        "  provenance: git {commit} ({dirty}), python {python}, GPU {gpu}, site {site}, repro-gen {gen}"
        .format(commit=str(facts.get("git.commit", "?"))[:12],
                dirty="dirty" if facts.get("git.dirty") else "clean",
                python=facts.get("env.python", "?"), gpu=gpu or "none",
                site=facts.get("chameleon.site", "?"), gen=facts.get("repro_gen.version", "?")),
    ]
    print("\n".join(lines), flush=True)


def open_run(experiment_id: str, resume_run_id: str | None) -> mlflow.ActiveRun:
    """Start a new run in the experiment, or reopen `resume_run_id`.

    A new run gets MLflow's context tags (user, source name and type, ...) except its git ones:
    finding those, MLflow imports GitPython and asks git again what provenance.collect has just
    asked, and provenance.record sets the same mlflow.source.git.* tags from its answers."""
    run_id = resume_run_id
    if run_id is None and not os.environ.get("MLFLOW_RUN_ID"):
        try:
            from mlflow.tracking.context.git_context import GitRunContext
            from mlflow.tracking.context.registry import resolve_tags
        except ImportError:  # another MLflow layout: let start_run resolve every tag itself
            return mlflow.start_run(experiment_id=experiment_id)
        run_id = MlflowClient().create_run(
            experiment_id, tags=resolve_tags(ignore=[GitRunContext])).info.run_id
    return mlflow.start_run(run_id=run_id)


@dataclass
class Session:
    """What a training script needs after start(): config, run id, resume point, GPU decision."""

    config: dict[str, Any]
    run_id: str
    resumed: bool
    stop_after_steps: int | None
    facts: dict[str, Any]
    metrics: MetricBuffer
    stopped: bool = False

    def should_stop(self, steps_this_session: int) -> bool:
        """True once --stop-after-steps is reached: the script then returns without finishing."""
        if self.stop_after_steps is not None and steps_this_session >= self.stop_after_steps:
            self.stopped = True
        return self.stopped


@contextlib.contextmanager
def start(framework: provenance.Framework, argv: list[str] | None = None,
          description: str = "") -> Iterator[Session]:
    """Parse the command line, check the GPU, open (or reopen) the run and record provenance.

    The GPU check runs before the run opens, so a driver/CUDA mismatch never leaves a half run.
    """
    args = parse_args(argv, description)
    config = load_config(args.config, args.overrides)
    seed = int(config["seed"])
    expect_gpu, source = provenance.gpu_expected(bool(config["expect_gpu"]))
    facts, artifacts = provenance.collect(framework, config["accelerator"], TRAINING_DIR)
    provenance.check_gpu(facts, expect_gpu, config["accelerator"])
    configure_tracking()
    experiment_id = set_experiment(config["experiment"])
    provenance.enable_system_metrics()
    resumed = args.resume_run_id is not None
    run = open_run(experiment_id, args.resume_run_id)
    announce(run.info.run_id, run.info.experiment_id, config["experiment"], facts)
    buffer = MetricBuffer(run.info.run_id)
    finished = False
    try:
        provenance.record(facts, artifacts, seed=seed, expect_gpu=expect_gpu,
                          expect_gpu_source=source, resumed=resumed,
                          params={k: v for k, v in flatten(config).items() if k != "seed"})
        session = Session(config, run.info.run_id, resumed, args.stop_after_steps, facts, buffer)
        yield session
        finished = True
    finally:
        buffer.close()
        if finished and not session.stopped:
            mlflow.end_run("FINISHED")
            # Every checkpoint is in the run's artifacts; a failed or stopped run keeps its local
            # copies (below), a finished one no longer needs them.
            clean_local_checkpoints(session)
            print(f"MLflow run {run.info.run_id} finished", flush=True)
        elif finished:
            # Stopped on purpose (--stop-after-steps): marked KILLED, as a preempted run would be;
            # --resume-run-id reopens it.
            mlflow.end_run("KILLED")
        else:
            mlflow.end_run("FAILED")


# ----- metrics -----------------------------------------------------------------------------------

class MetricBuffer:
    """Per-step metrics, sent in batches from a background thread.

    Calling the tracking server once per step would cost a round trip per step; buffering keeps the
    training loop's cost to appending to a queue (see benchmarks/metric_logging_overhead.py).
    """

    def __init__(self, run_id: str, flush_every_s: float = 2.0, max_batch: int = 1000) -> None:
        self.run_id = run_id
        self.client = MlflowClient()
        self.max_batch = max_batch
        # deque.append and deque.popleft are atomic: the training thread never waits for a lock,
        # and a point appended while a flush drains the queue is sent by this flush or the next.
        self._pending: collections.deque[tuple[dict[str, float], int, int]] = collections.deque()
        self._lock = threading.Lock()  # one flush at a time (background thread, checkpoints, close)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, args=(flush_every_s,), daemon=True,
                                        name="metric-buffer")
        self._thread.start()

    def log(self, metrics: dict[str, float], step: int) -> None:
        # Only a tuple per call here; Metric objects are built on the flushing thread.
        self._pending.append((metrics, int(time.time() * 1000), step))

    def flush(self) -> None:
        with self._lock:
            batch: list[Metric] = []
            # Only what is queued now: points logged meanwhile wait for the next flush.
            for _ in range(len(self._pending)):
                metrics, now, step = self._pending.popleft()
                batch.extend(Metric(key, float(value), now, step) for key, value in metrics.items())
            for i in range(0, len(batch), self.max_batch):
                self.client.log_batch(self.run_id, metrics=batch[i : i + self.max_batch])

    def _loop(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.flush()
            except Exception as exc:  # reported by close(), on the training thread
                self._error = exc
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()
        if self._error is not None:
            raise RuntimeError(f"metric logging failed: {self._error}") from self._error


# ----- checkpoints -------------------------------------------------------------------------------

def upload_checkpoint(session: Session, path: Path, step: int) -> None:
    """Send a checkpoint (file or folder) to the run's artifacts, replacing the previous one."""
    session.metrics.flush()  # metrics up to the checkpoint are safe before the checkpoint is
    target = f"{CHECKPOINT_ARTIFACTS}/latest"
    if path.is_dir():
        mlflow.log_artifacts(str(path), target)
    else:
        mlflow.log_artifact(str(path), target)
    mlflow.set_tag("repro.checkpoint.step", str(step))


def download_checkpoint(session: Session) -> Path | None:
    """The latest uploaded checkpoint of a resumed run, downloaded locally; None for a new run."""
    if not session.resumed:
        return None
    run = MlflowClient().get_run(session.run_id)
    if "repro.checkpoint.step" not in run.data.tags:
        print(f"run {session.run_id} has no checkpoint yet: starting from step 0", file=sys.stderr)
        return None
    dest = Path(tempfile.mkdtemp(prefix="resume-"))
    local = mlflow.artifacts.download_artifacts(
        run_id=session.run_id, artifact_path=f"{CHECKPOINT_ARTIFACTS}/latest", dst_path=str(dest))
    return Path(local)


def clean_local_checkpoints(session: Session) -> None:
    """Delete the run's local checkpoint folder (its checkpoints stay in the run's artifacts)."""
    shutil.rmtree(_checkpoint_path(session.run_id), ignore_errors=True)
