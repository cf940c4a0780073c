"""Fixtures for the training blueprints: rendered repositories that are real git checkouts, a
tracking stack (real PostgreSQL + SeaweedFS S3 + MLflow server) and a runner for train.py."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import render_data
from tests.support import services


# A CPU node spec per framework: what these machines can run.
def spec_for(framework: str, **training) -> dict:
    return {"version": 1, "project": {"name": "prov-study"},
            "chameleon": {"site": "CHI@UC", "node_type": "compute_cascadelake_r"},
            "training": {"framework": framework, "seed": 0, **training}}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def rendered_checkout(data: dict, out: Path) -> Path:
    """Render a spec into `out`, then make it a git repository with one commit and a remote
    whose URL carries credentials (provenance must strip them)."""
    render_data(data, out)
    git(out, "init", "-q", "-b", "main")
    git(out, "config", "user.email", "ci@example.org")
    git(out, "config", "user.name", "CI")
    git(out, "remote", "add", "origin", "https://alice:s3cr3t-token@git.example.org/lab/study.git")
    git(out, "add", "-A")
    git(out, "commit", "-q", "-m", "rendered")
    return out


@dataclass
class Tracking:
    """Where runs go: env for train.py and a client pointed at the same server."""

    uri: str
    env: dict[str, str]
    s3: services.S3Server | None = None
    bucket: str = ""


# The metadata service address must never be contacted from here: point it at a closed local port.
CLOSED_PORT_METADATA = "http://127.0.0.1:9/openstack/latest"


def train_env(tracking: Tracking, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "REPRO_", "CHAMELEON_"))}
    env.update(tracking.env)
    env.update({"REPRO_METADATA_URL": CLOSED_PORT_METADATA, "MLFLOW_DISABLE_TELEMETRY": "true",
                "PYTHONHASHSEED": "0"})
    env.update(extra)
    return env


def run_train(repo: Path, tracking: Tracking, *args: str, timeout: float = 600,
              **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "training/train.py", *args], cwd=repo,
                          env=train_env(tracking, **extra), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def tracking_stack(tmp_path_factory) -> Iterator[Tracking]:
    """The real tracking stack: PostgreSQL metadata, SeaweedFS S3 artifacts, MLflow serving them."""
    services.require_postgres()
    services.require_weed()
    base = tmp_path_factory.mktemp("stack")
    key, secret = "AK" + secrets.token_hex(8).upper(), secrets.token_urlsafe(24)
    with services.postgres_server(base / "pg") as dsn, \
            services.s3_service(base / "s3", key, secret) as s3:
        db = services.create_database(dsn, "mlflow")
        bucket = "mlflow-artifacts"
        services.create_bucket(s3.endpoint, key, secret, bucket)
        port = services.free_port()
        argv = ["mlflow", "server", "--backend-store-uri", services.sqlalchemy_url(db),
                "--artifacts-destination", f"s3://{bucket}/artifacts", "--serve-artifacts",
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        env = {"MLFLOW_S3_ENDPOINT_URL": s3.endpoint, "AWS_ACCESS_KEY_ID": key,
               "AWS_SECRET_ACCESS_KEY": secret, "MLFLOW_DISABLE_TELEMETRY": "true"}
        with services.mlflow_server(argv, env, log=base / "mlflow.log") as server:
            yield Tracking(server.url, {"MLFLOW_TRACKING_URI": server.url}, s3, bucket)
