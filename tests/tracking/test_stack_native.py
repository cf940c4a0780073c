"""The tracking stack for real, without containers: PostgreSQL 15, SeaweedFS's S3 server and the
MLflow server, started with the command line and environment read from every distinct rendered
compose/tracking.yml of the matrix.

Only what is specific to containers is translated, and said here: service hostnames (postgres,
minio, the Chameleon object store URL) become 127.0.0.1 addresses, the server binds 127.0.0.1 on
a free port instead of 0.0.0.0:5000 inside its container, and MLFLOW_WORKERS=1. SeaweedFS stands
in for MinIO and for the Chameleon object store (both S3 servers enforcing SigV4); PostgreSQL 15
stands in for the postgres:17 image.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from tests import matrix
from tests.support import services

from . import compose

pytestmark = pytest.mark.slow

PATTERNS = ("compose/tracking.yml", "ops/*", "docker/mlflow/*")


def _groups(trees):
    # One stack per artifact store: the files of the groups left out differ only in the site's
    # object-store URL and its name (which these tests replace with the local S3 server anyway)
    # and in ops/project.json's other sections, which the stack does not use.
    return matrix.one_per(matrix.groups(trees, PATTERNS), lambda combo: combo.artifact_store)


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """The admin DSN of a PostgreSQL cluster shared by the module's stacks."""
    with services.postgres_server(tmp_path_factory.mktemp("postgres")) as dsn:
        yield dsn


class Stack:
    """One rendered tree's stack, started natively."""

    def __init__(self, tree: Path, work: Path, postgres: str) -> None:
        self.tree = tree
        self.work = work
        self.admin_dsn = postgres
        self.pg_port = urllib.parse.urlsplit(postgres).port
        self.compose_file = tree / "compose" / "tracking.yml"
        # The real secrets tool writes .env; the user-provided Chameleon keys are filled in.
        result = subprocess.run([sys.executable, "-m", "ops", "secrets", "ensure"], cwd=tree,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        self.env = compose.read_env_file(tree / ".env")
        for name in ("CHAMELEON_S3_ACCESS_KEY", "CHAMELEON_S3_SECRET_KEY"):
            if name in self.env and not self.env[name]:
                self.env[name] = hashlib.sha256(f"{tree}{name}".encode()).hexdigest()[:32]
        self.env["MLFLOW_WORKERS"] = "1"
        keys = {}
        for user, password in (("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"),
                               ("CHAMELEON_S3_ACCESS_KEY", "CHAMELEON_S3_SECRET_KEY")):
            if self.env.get(user):
                keys[self.env[user]] = self.env[password]
        (key, secret), *more = keys.items()
        self._services = contextlib.ExitStack()
        self._mlflow: contextlib.ExitStack | None = None
        # A fresh S3 data directory per stack: nothing left over from another combination.
        self.s3 = self._services.enter_context(services.s3_service(
            tempfile.mkdtemp(prefix="s3-", dir=work), key, secret, more_credentials=dict(more)))
        self.port = services.free_port()
        self.fresh_database()

    def fresh_database(self) -> None:
        """An empty `mlflow` database, as on a node that was just set up."""
        services.recreate_database(self.admin_dsn, "mlflow", "mlflow", self.env["POSTGRES_PASSWORD"])

    # -- translation of container addresses ---------------------------------------------------
    def localize(self, value: str) -> str:
        pg = f"127.0.0.1:{self.pg_port}"
        value = value.replace("@postgres:5432/", f"@{pg}/")
        if value == "http://minio:9000" or (value.startswith("https://chi.")
                                             and value.endswith(":7480")):
            return self.s3.endpoint
        return value

    def service(self, name: str) -> tuple[list[str], dict[str, str]]:
        command, environment = compose.service(self.compose_file, name, self.env)
        environment = {k: self.localize(v) for k, v in environment.items()}
        if environment.get("PGHOST") == "postgres":
            environment.update(PGHOST="127.0.0.1", PGPORT=str(self.pg_port))
        return command, environment

    def process_env(self, environment: dict[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AWS_", "MLFLOW_", "PG"))}
        return {**base, **environment}

    # -- the services ------------------------------------------------------------------------
    def create_bucket(self) -> None:
        command, environment = self.service("create-bucket")
        assert command[:2] == ["python", "/opt/mlflow/create_bucket.py"]
        script = self.tree / "docker" / "mlflow" / "create_bucket.py"
        result = subprocess.run([sys.executable, str(script)], env=self.process_env(environment),
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr

    def start_mlflow(self) -> str:
        command, environment = self.service("mlflow")
        assert command[:2] == ["mlflow", "server"]
        args = []
        for arg in command[2:]:
            if arg.startswith("--host="):
                arg = "--host=127.0.0.1"
            elif arg.startswith("--port="):
                assert arg == "--port=5000"
                arg = f"--port={self.port}"
            args.append(arg)
        assert "--workers=1" in args and "--serve-artifacts" in args
        self._mlflow = contextlib.ExitStack()
        server = self._mlflow.enter_context(services.mlflow_server(
            ["mlflow", "server", *args], self.process_env(environment), inherit_env=False,
            log=self.work / f"mlflow-{self.port}.log", cwd=self.work))
        return server.url

    def stop_mlflow(self) -> None:
        if self._mlflow is not None:
            self._mlflow.close()
            self._mlflow = None

    def run_script(self, service: str, *args: str,
                   extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        _, environment = self.service(service)
        return subprocess.run([sys.executable, *args], cwd=self.tree,
                              env={**self.process_env(environment), **(extra_env or {})},
                              capture_output=True, text=True, timeout=300)

    def bucket_client(self, service: str = "mlflow", key: str = "AWS_ACCESS_KEY_ID",
                      secret: str = "AWS_SECRET_ACCESS_KEY"):
        _, environment = self.service(service)
        return services.s3_client(self.s3.endpoint, environment[key], environment[secret])

    def close(self) -> None:
        self.stop_mlflow()
        self._services.close()


@pytest.fixture
def stack_factory(tmp_path, postgres):
    stacks = []

    def make(tree: Path) -> Stack:
        stack = Stack(tree, tmp_path, postgres)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()


def _log_a_run(url: str, workdir: Path) -> dict:
    """Log params, metrics over steps, a tag, two artifacts and a model, as training code does."""
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("matrix-study")
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]] * 5)
    y = np.array([1, 0, 1, 0] * 5)
    model = LogisticRegression(random_state=0).fit(x, y)
    notes = workdir / "notes.txt"
    notes.write_text("seed=42\nloss went down\n")
    blob = workdir / "weights.bin"
    blob.write_bytes(bytes(range(256)) * 64)
    with mlflow.start_run() as run:
        mlflow.log_params({"lr": "0.01", "epochs": "3"})
        for step, loss in enumerate((0.9, 0.5, 0.25)):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.set_tag("git_sha", "0123456789abcdef0123456789abcdef01234567")
        mlflow.log_artifact(str(notes))
        mlflow.log_artifact(str(blob), artifact_path="checkpoints")
        info = mlflow.sklearn.log_model(model, name="model")
    return {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id,
            "model_uri": info.model_uri, "model_id": info.model_id, "x": x,
            "prediction": model.predict(x).tolist(),
            "files": {"notes.txt": notes.read_bytes(), "checkpoints/weights.bin": blob.read_bytes()}}


def _snapshot_of_tracking(url: str, run_id: str, workdir: Path) -> dict:
    """Everything a researcher would read back about the run, artifacts included (bytes)."""
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(url)
    run = client.get_run(run_id)
    out = workdir / f"download-{len(list(workdir.iterdir()))}"
    out.mkdir()
    local = Path(mlflow.artifacts.download_artifacts(run_id=run_id, tracking_uri=url,
                                                     dst_path=str(out)))
    files = {p.relative_to(local).as_posix(): p.read_bytes()
             for p in sorted(local.rglob("*")) if p.is_file()}
    return {
        "params": dict(run.data.params),
        "metrics": dict(run.data.metrics),
        "history": [(m.step, m.value) for m in client.get_metric_history(run_id, "loss")],
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        "status": run.info.status,
        "experiment": client.get_experiment(run.info.experiment_id).name,
        "files": files,
        "runs": sorted(r.info.run_id for r in client.search_runs(
            [e.experiment_id for e in client.search_experiments()])),
    }


def _bucket_keys(client, bucket: str) -> list[str]:
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


def test_mlflow_server_from_compose_logs_and_serves_everything(matrix_trees, stack_factory,
                                                               tmp_path):
    """Log a run with params, metrics, a tag, artifacts and a model through the server started
    from each rendered compose file; read it all back; find the objects in the bucket."""
    import mlflow

    failures = []
    for group in _groups(matrix_trees):
        stack = stack_factory(group.root)
        try:
            stack.create_bucket()
            stack.create_bucket()  # a second run of the one-shot job must also succeed
            url = stack.start_mlflow()
            logged = _log_a_run(url, tmp_path)
            seen = _snapshot_of_tracking(url, logged["run_id"], tmp_path)
            assert seen["params"] == {"lr": "0.01", "epochs": "3"}
            assert seen["history"] == [(0, 0.9), (1, 0.5), (2, 0.25)]
            assert seen["tags"]["git_sha"] == "0123456789abcdef0123456789abcdef01234567"
            for name, content in logged["files"].items():
                assert seen["files"][name] == content, name
            loaded = mlflow.pyfunc.load_model(logged["model_uri"])
            assert loaded.predict(logged["x"]).tolist() == logged["prediction"]
            # The objects really are in the artifact bucket named by the compose file.
            _, environment = stack.service("mlflow")
            bucket = environment["ARTIFACT_BUCKET"]
            keys = _bucket_keys(stack.bucket_client(), bucket)
            run_prefix = f"artifacts/{logged['experiment_id']}/{logged['run_id']}/artifacts/"
            assert run_prefix + "notes.txt" in keys
            assert run_prefix + "checkpoints/weights.bin" in keys
            model_prefix = f"artifacts/{logged['experiment_id']}/models/{logged['model_id']}/"
            assert any(k.startswith(model_prefix) and k.endswith("MLmodel") for k in keys), keys
            # Host header allow-list: the training containers' name passes, others do not.
            api = f"{url}/api/2.0/mlflow/experiments/search?max_results=1"
            assert services.http_status(api, host="mlflow:5000") == 200
            assert services.http_status(api, host=f"localhost:{stack.port}") == 200
            assert services.http_status(api, host="attacker.example:5000") in (400, 403)
        except Exception as exc:  # collect, so that one failure names every combination
            failures.append(f"{group.ids}: {type(exc).__name__}: {exc}")
        finally:
            stack.close()
    assert not failures, "\n".join(failures)


def test_backup_wipe_restore_round_trip(matrix_trees, stack_factory, tmp_path):
    """Back up, destroy the database and the artifact bucket, restore into fresh ones, and find
    every run, param, metric, tag and artifact back byte for byte."""
    failures = []
    for group in _groups(matrix_trees):
        stack = stack_factory(group.root)
        try:
            stack.create_bucket()
            url = stack.start_mlflow()
            logged = _log_a_run(url, tmp_path)
            before = _snapshot_of_tracking(url, logged["run_id"], tmp_path)

            first = stack.run_script("backup", "-m", "ops", "backup", "run")
            assert first.returncode == 0, first.stderr
            second = stack.run_script("backup", "-m", "ops", "backup", "run")
            assert second.returncode == 0, second.stderr
            # Unchanged artifacts are neither downloaded nor uploaded again.
            assert "(0 uploaded," in second.stdout, second.stdout
            fresh = stack.run_script("backup", "-m", "ops", "backup", "check", "--max-age-hours", "1")
            assert fresh.returncode == 0 and "ok" in fresh.stdout, fresh.stdout + fresh.stderr
            stale = stack.run_script("backup", "-m", "ops", "backup", "check",
                                     "--max-age-hours", "0")
            assert stale.returncode == 1 and "run `make backup`" in stale.stderr, stale.stderr

            # A fresh node: no server, an empty database, no artifact bucket.
            stack.stop_mlflow()
            stack.fresh_database()
            _, environment = stack.service("backup")
            artifacts = stack.bucket_client("backup", "ARTIFACT_S3_ACCESS_KEY",
                                            "ARTIFACT_S3_SECRET_KEY")
            bucket = environment["ARTIFACT_BUCKET"]
            for key in _bucket_keys(artifacts, bucket):
                artifacts.delete_object(Bucket=bucket, Key=key)
            artifacts.delete_bucket(Bucket=bucket)

            restored = stack.run_script("backup", "-m", "ops", "restore", "run")
            assert restored.returncode == 0, restored.stderr
            stack.create_bucket()
            url = stack.start_mlflow()
            after = _snapshot_of_tracking(url, logged["run_id"], tmp_path)
            assert after == before
            import mlflow

            mlflow.set_tracking_uri(url)
            loaded = mlflow.pyfunc.load_model(logged["model_uri"])
            assert loaded.predict(logged["x"]).tolist() == logged["prediction"]
        except Exception as exc:
            failures.append(f"{group.ids}: {type(exc).__name__}: {exc}")
        finally:
            stack.close()
    assert not failures, "\n".join(failures)


def test_backup_check_without_any_backup_exits_1(matrix_trees, tmp_path, postgres):
    """`make down` asks this question before destroying the node: no backup means no."""
    group = _groups(matrix_trees)[0]
    stack = Stack(group.root, tmp_path, postgres)
    try:
        result = stack.run_script("backup", "-m", "ops", "backup", "check", "--max-age-hours", "24")
        assert result.returncode == 1
        assert "no complete backup" in result.stderr
    finally:
        stack.close()


def test_localize_only_rewrites_container_addresses():
    stack = Stack.__new__(Stack)
    stack.pg_port = 5999
    stack.s3 = services.S3Server("http://127.0.0.1:7000", "key", "secret", Path("/nonexistent"))
    assert stack.localize("http://minio:9000") == "http://127.0.0.1:7000"
    assert stack.localize("https://chi.uc.chameleoncloud.org:7480") == "http://127.0.0.1:7000"
    assert (stack.localize("postgresql+psycopg2://mlflow:pw@postgres:5432/mlflow")
            == "postgresql+psycopg2://mlflow:pw@127.0.0.1:5999/mlflow")
    assert stack.localize("s3://mlflow/artifacts") == "s3://mlflow/artifacts"
    assert urllib.parse.urlparse(stack.s3.endpoint).hostname == "127.0.0.1"


def test_prune_keeps_recent_snapshots_the_newest_and_the_blobs_they_use(matrix_trees,
                                                                       stack_factory, tmp_path):
    """Retention: old snapshots and leftovers of interrupted backups go, the newest snapshot and
    every blob a kept snapshot refers to stay; nothing younger than the grace period is deleted."""
    import datetime as dt
    import json

    group = _groups(matrix_trees)[0]
    stack = stack_factory(group.root)
    stack.create_bucket()
    url = stack.start_mlflow()
    _log_a_run(url, tmp_path)
    taken = stack.run_script("backup", "-m", "ops", "backup", "run")
    assert taken.returncode == 0, taken.stderr
    assert "prune: kept 1 snapshots" in taken.stdout, taken.stdout
    _, environment = stack.service("backup")
    store = stack.bucket_client("backup", "CHAMELEON_S3_ACCESS_KEY", "CHAMELEON_S3_SECRET_KEY")
    bucket = environment["BACKUP_BUCKET"]

    def get(key: str) -> bytes:
        return store.get_object(Bucket=bucket, Key=key)["Body"].read()

    def put(key: str, body: bytes) -> None:
        store.put_object(Bucket=bucket, Key=key, Body=body)

    [newest] = stack.run_script("backup", "-m", "ops", "backup", "list").stdout.split()
    manifest = json.loads(get(f"tracking/snapshots/{newest}/manifest.json"))
    used = {meta["sha256"] for meta in manifest["artifacts"]["objects"].values()}
    assert used
    # A complete snapshot from 30 days ago that used one more blob, an orphan blob, and a
    # backup that stopped half way 20 days ago.
    now = dt.datetime.now(dt.timezone.utc)
    old, broken = ((now - dt.timedelta(days=d)).strftime("%Y%m%dT%H%M%SZ") for d in (30, 20))
    only_old, orphan = hashlib.sha256(b"only old").hexdigest(), hashlib.sha256(b"orphan").hexdigest()
    put(f"tracking/blobs/sha256/{only_old}", b"only old")
    put(f"tracking/blobs/sha256/{orphan}", b"orphan")
    old_manifest = json.loads(json.dumps(manifest))
    old_manifest["snapshot"] = old
    old_manifest["artifacts"]["objects"]["artifacts/0/old/only.bin"] = {
        "sha256": only_old, "size": 8, "etag": "x"}
    put(f"tracking/snapshots/{old}/postgres.dump", get(f"tracking/snapshots/{newest}/postgres.dump"))
    put(f"tracking/snapshots/{old}/manifest.json", json.dumps(old_manifest).encode())
    put(f"tracking/snapshots/{broken}/postgres.dump", b"half a dump")
    listed = stack.run_script("backup", "-m", "ops", "backup", "list").stdout.split()
    assert listed == [old, newest]

    def keys() -> set[str]:
        return set(_bucket_keys(store, bucket))

    # Default retention (14 days) and grace (24 h): the old snapshot and the interrupted one go;
    # the blobs only they used were written a moment ago, so they wait for a later prune.
    pruned = stack.run_script("backup", "-m", "ops", "backup", "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert "deleted 1 older, 1 interrupted, 0 unused" in pruned.stdout, pruned.stdout
    after = keys()
    assert not any(k.startswith((f"tracking/snapshots/{old}/", f"tracking/snapshots/{broken}/"))
                   for k in after), after
    assert {f"tracking/blobs/sha256/{d}" for d in (only_old, orphan)} <= after

    pruned = stack.run_script("backup", "-m", "ops", "backup", "prune", "--grace-hours", "0")
    assert "deleted 0 older, 0 interrupted, 2 unused artifact copies (14 bytes)" in pruned.stdout
    after = keys()
    assert {f"tracking/blobs/sha256/{d}" for d in (only_old, orphan)}.isdisjoint(after)
    assert {f"tracking/blobs/sha256/{d}" for d in used} <= after

    # Even when every snapshot is past the retention, the newest one stays whole.
    pruned = stack.run_script("backup", "-m", "ops", "backup", "prune", "--keep-days", "0.00001",
                              "--grace-hours", "0")
    assert pruned.returncode == 0 and "kept 1 snapshots" in pruned.stdout, pruned.stdout
    assert stack.run_script("backup", "-m", "ops", "backup", "list").stdout.split() == [newest]
    assert keys() >= {f"tracking/blobs/sha256/{d}" for d in used} | {
        f"tracking/snapshots/{newest}/manifest.json", f"tracking/snapshots/{newest}/postgres.dump"}

    refused = stack.run_script("backup", "-m", "ops", "backup", "prune", "--keep-days", "0")
    assert refused.returncode == 2 and "above 0" in refused.stderr, refused.stderr


def test_an_artifact_logged_while_the_database_is_dumped_is_in_the_snapshot(matrix_trees,
                                                                            stack_factory, tmp_path):
    """The dump may refer to artifacts logged while the backup runs: they must be in the copy too.
    A pg_dump wrapper uploads an artifact right after the real dump, as a training run would."""
    import json
    import shutil

    group = _groups(matrix_trees)[0]
    stack = stack_factory(group.root)
    stack.create_bucket()
    _, environment = stack.service("backup")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "pg_dump"
    wrapper.write_text(f"""#!{sys.executable}
import os, subprocess, sys
import boto3
done = subprocess.run([{shutil.which("pg_dump")!r}, *sys.argv[1:]])
s3 = boto3.client("s3", endpoint_url=os.environ["ARTIFACT_S3_ENDPOINT_URL"], region_name="us-east-1",
                  aws_access_key_id=os.environ["ARTIFACT_S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["ARTIFACT_S3_SECRET_KEY"])
s3.put_object(Bucket=os.environ["ARTIFACT_BUCKET"], Key="artifacts/1/late/artifacts/late.txt",
              Body=b"logged during the dump")
sys.exit(done.returncode)
""")
    wrapper.chmod(0o755)
    path = f"{bin_dir}:{os.environ['PATH']}"
    taken = stack.run_script("backup", "-m", "ops", "backup", "run", extra_env={"PATH": path})
    assert taken.returncode == 0, taken.stderr
    [snapshot] = stack.run_script("backup", "-m", "ops", "backup", "list").stdout.split()
    store = stack.bucket_client("backup", "CHAMELEON_S3_ACCESS_KEY", "CHAMELEON_S3_SECRET_KEY")
    manifest = json.loads(store.get_object(
        Bucket=environment["BACKUP_BUCKET"],
        Key=f"tracking/snapshots/{snapshot}/manifest.json")["Body"].read())
    assert "artifacts/1/late/artifacts/late.txt" in manifest["artifacts"]["objects"]


def test_restore_skips_a_snapshot_of_an_empty_database(matrix_trees, stack_factory, tmp_path):
    """A backup of a fresh node (no runs yet) must not hide the last real snapshot from
    `restore.py` without --snapshot."""
    group = _groups(matrix_trees)[0]
    stack = stack_factory(group.root)
    stack.create_bucket()
    url = stack.start_mlflow()
    logged = _log_a_run(url, tmp_path)
    real = stack.run_script("backup", "-m", "ops", "backup", "run")
    assert real.returncode == 0 and "(1 runs)" in real.stdout, real.stdout + real.stderr
    # A new lease: an empty database that MLflow has not even initialised, then a backup of it.
    stack.stop_mlflow()
    stack.fresh_database()
    empty = stack.run_script("backup", "-m", "ops", "backup", "run", "--no-prune")
    assert empty.returncode == 0 and "(0 runs)" in empty.stdout, empty.stdout + empty.stderr
    first, second = stack.run_script("backup", "-m", "ops", "backup", "list").stdout.split()
    restored = stack.run_script("backup", "-m", "ops", "restore", "run")
    assert restored.returncode == 0, restored.stderr
    assert f"skipping snapshot {second}: it holds no runs" in restored.stdout
    assert f"restored {first}" in restored.stdout
    url = stack.start_mlflow()
    from mlflow import MlflowClient

    assert MlflowClient(url).get_run(logged["run_id"]).data.params == {"lr": "0.01", "epochs": "3"}
