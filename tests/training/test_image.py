"""The CPU training image builds and runs one training step.

No registry is reachable here, so the pinned upstream base (python:<version>-slim-bookworm) is
replaced by a STAND-IN built on this machine, `local/python:3.11-slim` (testbed/images.sh), passed
through the Dockerfile's BASE_IMAGE build argument. Everything else is the rendered Dockerfile and
requirements, installed from PyPI.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest
from mlflow.tracking import MlflowClient

from tests.support.docker import docker, require_image

from .conftest import rendered_checkout, spec_for

pytestmark = [pytest.mark.slow, pytest.mark.docker]

STAND_IN_BASE = "local/python:3.11-slim"


def test_cpu_image_builds_and_runs_one_step(tmp_path):
    require_image(STAND_IN_BASE)
    repo = rendered_checkout(spec_for("sklearn"), tmp_path / "repo")
    tag = f"training-test/prov-study-train:{uuid.uuid4().hex[:8]}"
    name = f"training-test-{uuid.uuid4().hex[:8]}"
    build = subprocess.run(
        ["docker", "build", "--build-arg", f"BASE_IMAGE={STAND_IN_BASE}", "-t", tag,
         "-f", str(repo / "docker/train/Dockerfile"), str(repo / "training")],
        capture_output=True, text=True, timeout=1500)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    try:
        image_id = docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
        user = docker("image", "inspect", "--format", "{{.Config.User}}", tag).stdout.strip()
        assert user == "trainer"
        # The checkout is mounted as compose mounts it, writable here only for the local store.
        shutil.chown(repo, 1000, 1000)
        for path in repo.rglob("*"):
            shutil.chown(path, 1000, 1000)
        run = subprocess.run(
            ["docker", "run", "--rm", "--name", name, "--network", "none", "--init",
             "-v", f"{repo}:/repo", "-e", f"REPRO_IMAGE={tag}", "-e", f"REPRO_IMAGE_DIGEST={image_id}",
             "-e", "REPRO_METADATA_URL=http://127.0.0.1:9/openstack/latest",
             "-e", "MLFLOW_DISABLE_TELEMETRY=true", "-e", "REPRO_CHECKPOINT_DIR=/checkpoints",
             tag, "python", "training/train.py", "--set", "train.steps=1"],
            capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-4000:]
        client = MlflowClient(f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}")
        (result,) = client.search_runs([client.get_experiment_by_name("prov-study").experiment_id])
        assert result.info.status == "FINISHED"
        assert result.data.tags["repro.env.image_digest"] == image_id
        assert result.data.tags["repro.git.dirty"] == "false", "container sees the same clean checkout"
        assert result.data.tags["repro.sys.hostname"] != ""
        assert "final_test_accuracy" in result.data.metrics
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
