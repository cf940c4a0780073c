"""The same train.py on a laptop: no server (a SQLite store inside the repository), the GPU
expectation of a GPU spec enforced before training and lifted only by REPRO_EXPECT_GPU=0, and one
tiny training run for each of lightning, TensorFlow and transformers where they install."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from .conftest import Tracking, git, rendered_checkout, run_train, spec_for

LOCAL = Tracking(uri="", env={})  # MLFLOW_TRACKING_URI unset: the embedded store


def local_runs(repo, experiment):
    client = MlflowClient(f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    return client, ([] if exp is None else client.search_runs([exp.experiment_id]))


def gpu_spec(framework: str) -> dict:
    return {"version": 1, "project": {"name": "gpu-study"},
            "chameleon": {"site": "CHI@UC", "node_type": "gpu_rtx_6000"},
            "training": {"framework": framework}}


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["pytorch", "sklearn"])
def test_gpu_expected_but_not_visible_fails_before_training(framework, tmp_path):
    repo = rendered_checkout(gpu_spec(framework), tmp_path / "repo")
    done = run_train(repo, LOCAL, "--set", "train.steps=5")
    assert done.returncode == 2, done.stdout + done.stderr
    message = done.stderr
    assert "nvidia GPU is expected" in message
    assert "GPU driver absent" in message  # no driver on this machine: said so, by name
    assert "CUDA" in message and "REPRO_EXPECT_GPU=0" in message
    if framework == "pytorch":
        assert "built for CUDA absent (CPU or ROCm build)" in message
    assert "Traceback" not in message
    _, runs = local_runs(repo, "gpu-study")
    assert runs == [], "a run was opened although training never started"


@pytest.mark.slow
def test_laptop_run_without_server_records_the_gpu_override(tmp_path):
    repo = rendered_checkout(gpu_spec("sklearn"), tmp_path / "repo")
    done = run_train(repo, LOCAL, "--set", "train.steps=20", REPRO_EXPECT_GPU="0", PYTHONHASHSEED="7")
    assert done.returncode == 0, done.stderr[-3000:]
    _, runs = local_runs(repo, "gpu-study")
    (run,) = runs
    assert run.info.status == "FINISHED"
    # The hash seed the interpreter started with (not the config's seed, 42 here).
    assert run.data.tags["repro.run.python_hash_seed"] == "7"
    assert run.data.tags["repro.run.seed"] == "42"
    assert run.data.tags["repro.run.expect_gpu"] == "false"
    assert run.data.tags["repro.run.expect_gpu_source"] == "env REPRO_EXPECT_GPU"
    assert run.info.artifact_uri.startswith((repo / "mlruns").as_uri())
    assert (repo / "mlruns" / "artifacts").is_dir()
    # local runs leave the checkout clean: their files are git-ignored
    assert git(repo, "status", "--porcelain") == ""


def test_unknown_override_is_refused(tmp_path):
    repo = rendered_checkout(spec_for("sklearn"), tmp_path / "repo")
    done = run_train(repo, LOCAL, "--set", "train.stepz=5")
    assert done.returncode != 0 and "unknown setting train.stepz" in done.stderr


TINY = {
    "lightning": ("lightning", ["--set", "train.steps=6", "--set", "train.checkpoint_every=3",
                                "--set", "train.eval_every=3"]),
    "tensorflow": ("tensorflow", ["--set", "train.steps=6", "--set", "train.checkpoint_every=3",
                                  "--set", "train.eval_every=3"]),
    "huggingface": ("transformers", ["--set", "train.steps=4", "--set", "train.checkpoint_every=2",
                                     "--set", "train.eval_every=2"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("framework", sorted(TINY))
def test_tiny_training_run_on_cpu(framework, tmp_path, monkeypatch):
    package, args = TINY[framework]
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed here; the code is still compiled and linted by "
                    "test_rendered_python_compiles_and_lints")
    repo = rendered_checkout(spec_for(framework), tmp_path / "repo")
    done = run_train(repo, LOCAL, *args, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    assert done.returncode == 0, done.stderr[-4000:]
    client, runs = local_runs(repo, "prov-study")
    (run,) = runs
    assert run.info.status == "FINISHED"
    assert "final_test_accuracy" in run.data.metrics
    assert len(client.get_metric_history(run.info.run_id, "train_loss")) >= 4
    # Evaluation metrics at evaluation steps only, never repeated at every training step.
    steps, every = int(args[1].split("=")[1]), int(args[5].split("=")[1])
    evaluated = {m.step for m in client.get_metric_history(run.info.run_id, "test_accuracy")}
    assert evaluated and len(evaluated) <= steps // every + 1, evaluated
    assert run.data.tags["repro.fw.name"] == framework
    assert int(run.data.tags["repro.checkpoint.step"]) > 0
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}")
    models = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    assert any(m.source_run_id == run.info.run_id for m in models)


@pytest.mark.slow
def test_finished_run_deletes_its_local_checkpoints_a_stopped_one_keeps_them(tmp_path):
    repo = rendered_checkout(spec_for("sklearn"), tmp_path / "repo")
    args = ["--set", "train.steps=6", "--set", "train.checkpoint_every=2", "--set", "train.eval_every=2"]
    stopped = run_train(repo, LOCAL, *args, "--stop-after-steps", "3")
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    _, (run,) = local_runs(repo, "prov-study")
    assert run.info.status == "KILLED"
    local = repo / "checkpoints" / run.info.run_id
    assert (local / "state.pkl").is_file(), "a stopped run must keep its checkpoint to resume from"
    resumed = run_train(repo, LOCAL, *args, "--resume-run-id", run.info.run_id)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    client, (run,) = local_runs(repo, "prov-study")
    assert run.info.status == "FINISHED"
    assert not local.exists(), "a finished run's checkpoints are in its artifacts, not on disk"
    assert "checkpoints/latest/state.pkl" in {
        f.path for f in client.list_artifacts(run.info.run_id, "checkpoints/latest")}
    # The command it prints to browse the run works from any folder: this interpreter (the
    # venv's `mlflow` need not be on PATH) and the store's absolute path.
    (view,) = [line for line in resumed.stdout.splitlines() if line.strip().startswith("view:")]
    argv = shlex.split(view.split("view:", 1)[1].split("   (")[0])
    assert argv[:4] == [sys.executable, "-m", "mlflow", "ui"]
    assert argv[4:] == ["--backend-store-uri", f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}"]
    assert Path(argv[5].removeprefix("sqlite:///")).is_absolute()


def test_local_ui_command_works_from_any_folder(tmp_path):
    repo = rendered_checkout(spec_for("sklearn"), tmp_path / "repo")
    (repo / ".venv-train").mkdir()
    (repo / ".venv-train" / ".installed").touch()  # as after `make train-local`: nothing to install
    # What `make mlflow-ui-local` runs (ops/training.py), asked from another folder.
    code = ("import shlex, sys; sys.path.insert(0, sys.argv[1]); from ops import training;"
            " print(shlex.join(training.local_ui_argv()))")
    done = subprocess.run([sys.executable, "-c", code, str(repo)], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    (command,) = [line for line in done.stdout.splitlines() if " ui " in line]
    assert shlex.split(command) == [f"{repo}/.venv-train/bin/mlflow", "ui", "--backend-store-uri",
                                    f"sqlite:///{repo}/mlruns/mlflow.db", "--host", "127.0.0.1",
                                    "--port", "5000"]
