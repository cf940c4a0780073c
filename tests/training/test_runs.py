"""The generated training code, run for real against the tracking stack (PostgreSQL + SeaweedFS S3
+ MLflow server): provenance, the model in the bucket, determinism and resume, for the frameworks
that install here (scikit-learn, PyTorch CPU)."""

from __future__ import annotations

import json
import platform
import socket
from importlib import metadata

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from .conftest import Tracking, git, rendered_checkout, run_train, spec_for

# PostgreSQL and SeaweedFS are required by the tracking_stack fixture (skip, or fail in CI).
pytestmark = pytest.mark.slow

FRAMEWORKS = ["sklearn", "pytorch"]
FW_PACKAGE = {"sklearn": "scikit-learn", "pytorch": "torch"}
STEPS = ["--set", "train.steps=100"]


def client_for(tracking: Tracking) -> MlflowClient:
    mlflow.set_tracking_uri(tracking.uri)
    return MlflowClient(tracking.uri)


def runs_of(client: MlflowClient, experiment: str) -> list:
    exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else client.search_runs([exp.experiment_id], order_by=["start_time ASC"])


def only_new_run(client: MlflowClient, experiment: str, before: set[str]):
    new = [r for r in runs_of(client, experiment) if r.info.run_id not in before]
    assert len(new) == 1, f"expected one new run, found {len(new)}"
    return new[0]


def history(client: MlflowClient, run_id: str, key: str) -> dict[int, float]:
    """Metric by step; a resumed run logs the steps after its checkpoint twice, same values."""
    return {m.step: m.value for m in sorted(client.get_metric_history(run_id, key),
                                            key=lambda m: (m.step, m.timestamp))}


def artifact_text(client: MlflowClient, run_id: str, path: str, tmp_path) -> str:
    local = client.download_artifacts(run_id, path, str(tmp_path))
    return open(local, encoding="utf-8").read()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_run_records_full_provenance(framework, tracking_stack, tmp_path):
    experiment = f"prov-{framework}"
    repo = rendered_checkout(spec_for(framework, **{}) | {"tracking": {"experiment": experiment}},
                             tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD").strip()
    # Dirty in all three ways `git diff --quiet` would partly miss: unstaged, staged, untracked.
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nlocal edit\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    (repo / "notes-untracked.txt").write_text("scratch\n")
    client = client_for(tracking_stack)
    before = {r.info.run_id for r in runs_of(client, experiment)}
    done = run_train(repo, tracking_stack, *STEPS, CHAMELEON_SITE="CHI@UC",
                     CHAMELEON_NODE_TYPE="compute_cascadelake_r", CHAMELEON_LEASE_ID="lease-1234",
                     REPRO_IMAGE="prov-study-train:latest", REPRO_IMAGE_DIGEST="sha256:abc123",
                     MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL="1",
                     MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING="1")
    assert done.returncode == 0, done.stderr[-3000:]
    run = only_new_run(client, experiment, before)
    tags, run_id = run.data.tags, run.info.run_id
    assert run.info.status == "FINISHED"

    # git
    assert tags["mlflow.source.git.commit"] == head == tags["repro.git.commit"]
    assert tags["repro.git.branch"] == "main" == tags["mlflow.source.git.branch"]
    assert tags["repro.git.remote"] == "https://git.example.org/lab/study.git"
    assert not any("s3cr3t" in v or "alice" in v for v in tags.values())
    assert tags["repro.git.dirty"] == "true"
    untracked = artifact_text(client, run_id, "provenance/untracked.txt", tmp_path)
    assert "notes-untracked.txt" in untracked.splitlines()
    diff = artifact_text(client, run_id, "provenance/git.diff", tmp_path)
    assert "+local edit" in diff and "staged.txt" in diff

    # environment
    assert tags["repro.env.python"] == platform.python_version()
    assert tags["repro.env.image"] == "prov-study-train:latest"
    assert tags["repro.env.image_digest"] == "sha256:abc123"
    packages = artifact_text(client, run_id, "provenance/requirements-installed.txt", tmp_path)
    assert f"mlflow=={metadata.version('mlflow')}" in packages.splitlines()
    assert tags["repro.fw.version"] == metadata.version(FW_PACKAGE[framework])
    for key in ("repro.fw.cuda", "repro.fw.cudnn", "repro.fw.nccl"):
        assert key in tags

    # system
    assert tags["repro.sys.hostname"] == socket.gethostname()
    assert int(tags["repro.sys.cpu_cores"]) >= 1 and int(tags["repro.sys.memory_bytes"]) > 0
    assert tags["repro.sys.cpu_model"]
    assert tags["repro.gpu.count"] == "0" and tags["repro.gpu.driver"].startswith("absent")

    # Chameleon: from the environment where compose passes it; metadata service absent here.
    assert tags["repro.chameleon.site"] == "CHI@UC"
    assert tags["repro.chameleon.node_type"] == "compute_cascadelake_r"
    assert tags["repro.chameleon.lease_id"] == "lease-1234"
    assert tags["repro.chameleon.metadata"].startswith("absent")
    assert tags["repro.chameleon.instance_id"].startswith("absent")

    # repro-gen
    state = json.loads((repo / ".repro-gen" / "state.json").read_text())
    assert tags["repro.repro_gen.version"] == state["generator_version"]
    assert tags["repro.repro_gen.spec_sha256"] == state["spec_sha256"]

    # command line, seed, GPU expectation, system metrics
    assert "training/train.py --set train.steps=100" in tags["repro.run.command"]
    assert run.data.params["seed"] == "0" and tags["repro.run.seed"] == "0"
    assert tags["repro.run.expect_gpu"] == "false" and tags["repro.run.expect_gpu_source"] == "config"
    assert any(k.startswith("system/cpu_utilization") for k in run.data.metrics), run.data.metrics

    # the trained model is in the bucket, not only in the database
    assert run.data.metrics["final_test_accuracy"] > 0.5
    keys = [o["Key"] for page in tracking_stack.s3.client().get_paginator("list_objects_v2")
            .paginate(Bucket=tracking_stack.bucket) for o in page.get("Contents", [])]
    assert any(k.endswith("/MLmodel") for k in keys), keys[:20]
    assert any(run_id in k and k.endswith("provenance/facts.json") for k in keys)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_same_seed_same_metrics_and_interrupted_run_resumes(framework, tracking_stack, tmp_path):
    experiment = f"resume-{framework}"
    repo = rendered_checkout(spec_for(framework) | {"tracking": {"experiment": experiment}},
                             tmp_path / "repo")
    client = client_for(tracking_stack)
    finished = []
    for _ in range(2):
        before = {r.info.run_id for r in runs_of(client, experiment)}
        done = run_train(repo, tracking_stack, *STEPS)
        assert done.returncode == 0, done.stderr[-3000:]
        finished.append(only_new_run(client, experiment, before))
    a, b = finished
    assert a.data.tags["repro.git.dirty"] == "false"
    assert history(client, a.info.run_id, "train_loss") == history(client, b.info.run_id, "train_loss")
    assert a.data.metrics["final_test_accuracy"] == b.data.metrics["final_test_accuracy"]

    # Interrupted after 70 steps (checkpoint at 50), then resumed under the same run id.
    before = {r.info.run_id for r in runs_of(client, experiment)}
    stopped = run_train(repo, tracking_stack, *STEPS, "--stop-after-steps", "70")
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    partial = only_new_run(client, experiment, before)
    assert partial.info.status == "KILLED"
    assert partial.data.tags["repro.checkpoint.step"] == "50"
    assert "final_test_accuracy" not in partial.data.metrics
    resumed = run_train(repo, tracking_stack, *STEPS, "--resume-run-id", partial.info.run_id)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming run" in resumed.stderr and "at step 50" in resumed.stderr
    run = client.get_run(partial.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["repro.resume.count"] == "1"
    assert run.data.tags["repro.resume.git_commit_changed"] == "false"
    assert history(client, run.info.run_id, "train_loss") == history(client, a.info.run_id, "train_loss")
    assert run.data.metrics["final_test_accuracy"] == a.data.metrics["final_test_accuracy"]
    assert run.data.metrics["test_accuracy"] == a.data.metrics["test_accuracy"]
    # the resume's own provenance snapshot sits beside the original
    paths = [f.path for f in client.list_artifacts(run.info.run_id, "provenance")]
    assert "provenance/resume-1" in paths and "provenance/facts.json" in paths


def test_a_killed_run_resumes_to_the_same_result(tracking_stack, tmp_path):
    """SIGKILL (a node lost mid-run, no chance to clean up) after the first checkpoint: the same
    run id resumes from it and ends exactly where an uninterrupted run ends."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from .conftest import train_env

    experiment = "killed-pytorch"
    repo = rendered_checkout(spec_for("pytorch") | {"tracking": {"experiment": experiment}},
                             tmp_path / "repo")
    client = client_for(tracking_stack)
    long = ["--set", "train.steps=1500"]
    proc = subprocess.Popen([sys.executable, "training/train.py", *long], cwd=repo,
                            env=train_env(tracking_stack), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    run = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        runs = runs_of(client, experiment)
        if runs and "repro.checkpoint.step" in runs[0].data.tags:
            run = runs[0]
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    proc.wait(timeout=30)
    assert run is not None, f"the run ended ({proc.returncode}) before a checkpoint was seen"
    assert proc.returncode == -signal.SIGKILL
    killed = client.get_run(run.info.run_id)
    assert killed.info.status == "RUNNING", "SIGKILL leaves the run as the node's loss would"
    resumed = run_train(repo, tracking_stack, *long, "--resume-run-id", run.info.run_id)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming run" in resumed.stderr
    before = {r.info.run_id for r in runs_of(client, experiment)}
    whole = run_train(repo, tracking_stack, *long)
    assert whole.returncode == 0, whole.stderr[-3000:]
    reference = only_new_run(client, experiment, before)
    final = client.get_run(run.info.run_id)
    assert final.info.status == "FINISHED" and final.data.tags["repro.resume.count"] == "1"
    assert history(client, run.info.run_id, "train_loss") == history(
        client, reference.info.run_id, "train_loss")
    assert final.data.metrics["final_test_accuracy"] == reference.data.metrics["final_test_accuracy"]
