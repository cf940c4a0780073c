"""The service helpers, exercised against the real services."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import docker as dk
from . import services as sv


def test_free_port_is_bindable() -> None:
    import socket

    port = sv.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_for_port_reports_exit_and_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    proc = sv.start_process([sys.executable, "-c", "print('boom: config invalid'); raise SystemExit(3)"], log)
    with pytest.raises(sv.ServiceError) as info:
        sv.wait_for_port("127.0.0.1", sv.free_port(), timeout=20, proc=proc, log=log, what="demo")
    assert "demo exited with status 3" in str(info.value)
    assert "boom: config invalid" in str(info.value)


def test_wait_http_times_out_with_clear_message(tmp_path: Path) -> None:
    port = sv.free_port()
    with pytest.raises(sv.ServiceError, match=rf"demo at http://127.0.0.1:{port}/health was not ready"):
        sv.wait_http(f"http://127.0.0.1:{port}/health", timeout=1, what="demo")


def test_stop_process_group_kills_grandchildren(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    proc = sv.start_process(["sh", "-c", f"sleep 300 & echo $! > {pid_file}; sleep 300"], tmp_path / "log")
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "child did not start"
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    sv.stop_process_group(proc, timeout=5)
    assert proc.poll() is not None
    assert not Path(f"/proc/{grandchild}").exists() or \
        Path(f"/proc/{grandchild}/stat").read_text().split(") ")[1].startswith("Z")


def test_replace_option_handles_both_spellings() -> None:
    argv = ["mlflow", "server", "--host", "0.0.0.0", "--port=5000"]
    out = sv.replace_option(sv.replace_option(argv, "--host", "127.0.0.1"), "--port", "6000")
    assert out == ["mlflow", "server", "--host", "127.0.0.1", "--port=6000"]
    assert sv.replace_option(["x"], "--workers", "1") == ["x", "--workers", "1"]
    assert sv.option_value(out, "--port") == "6000"


@pytest.mark.postgres
def test_postgres_answers_select_1(postgres_dsn: str) -> None:
    import psycopg2

    conn = psycopg2.connect(postgres_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
            cur.execute("show listen_addresses")
            assert cur.fetchone() == ("127.0.0.1",)
    finally:
        conn.close()


@pytest.mark.postgres
def test_postgres_rejects_wrong_password(postgres_dsn: str) -> None:
    import psycopg2

    wrong = postgres_dsn.replace(":postgres@", ":not-the-password@", 1)
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(wrong).close()


@pytest.mark.s3
def test_s3_enforces_credentials(s3: sv.S3Server) -> None:
    from botocore.exceptions import ClientError

    sv.create_bucket(s3.endpoint, s3.access_key, s3.secret_key, "creds-check")
    wrong_secret = sv.s3_client(s3.endpoint, s3.access_key, s3.secret_key + "x", retries=1)
    with pytest.raises(ClientError) as info:
        wrong_secret.put_object(Bucket="creds-check", Key="x", Body=b"nope")
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    unknown_key = sv.s3_client(s3.endpoint, "AKUNKNOWN", s3.secret_key, retries=1)
    with pytest.raises(ClientError) as info:
        unknown_key.list_buckets()
    assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"

    client = s3.client()
    client.put_object(Bucket="creds-check", Key="dir/hello.txt", Body=b"hello")
    assert client.get_object(Bucket="creds-check", Key="dir/hello.txt")["Body"].read() == b"hello"
    with pytest.raises(ClientError):
        wrong_secret.get_object(Bucket="creds-check", Key="dir/hello.txt")


@pytest.mark.postgres
@pytest.mark.s3
@pytest.mark.slow
def test_mlflow_server_on_postgres_and_s3(postgres_dsn: str, s3: sv.S3Server, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import mlflow
    from mlflow.tracking import MlflowClient

    db = sv.create_database(postgres_dsn, "mlflow")
    sv.create_bucket(s3.endpoint, s3.access_key, s3.secret_key, "mlflow")
    port = sv.free_port()
    argv = ["mlflow", "server", "--backend-store-uri", sv.sqlalchemy_url(db),
            "--artifacts-destination", "s3://mlflow/mlflow", "--serve-artifacts",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {"MLFLOW_S3_ENDPOINT_URL": s3.endpoint, "AWS_ACCESS_KEY_ID": s3.access_key,
           "AWS_SECRET_ACCESS_KEY": s3.secret_key}
    # The client must need no S3 credentials: the server proxies artifacts.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)

    with sv.mlflow_server(argv, env, log=tmp_path / "mlflow.log") as server:
        client = MlflowClient(tracking_uri=server.url)
        experiment_id = client.create_experiment("testbed")
        run = client.create_run(experiment_id)
        client.log_param(run.info.run_id, "lr", "0.1")
        client.log_metric(run.info.run_id, "loss", 0.5)
        artifact = tmp_path / "notes.txt"
        artifact.write_text("artifact body\n")
        client.log_artifact(run.info.run_id, str(artifact), artifact_path="outputs")
        client.set_terminated(run.info.run_id)

        fetched = client.get_run(run.info.run_id)
        assert fetched.data.params == {"lr": "0.1"}
        assert fetched.data.metrics == {"loss": 0.5}
        assert [f.path for f in client.list_artifacts(run.info.run_id, "outputs")] == ["outputs/notes.txt"]
        rss = server.rss_bytes()
        with capsys.disabled():
            print(f"\n[testbed] mlflow server process tree RSS: {rss / 2**20:.0f} MiB")

    keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket="mlflow").get("Contents", [])]
    wanted = [k for k in keys if k.endswith(f"{run.info.run_id}/artifacts/outputs/notes.txt")]
    assert wanted, f"artifact not in bucket; objects: {keys}"
    body = s3.client().get_object(Bucket="mlflow", Key=wanted[0])["Body"].read()
    assert body == b"artifact body\n"
    assert mlflow.__version__.startswith("3.")


@pytest.mark.docker
@pytest.mark.slow
def test_systemd_container_runs_systemd_and_sshd(tmp_path: Path) -> None:
    dk.require_image(dk.SYSTEMD_IMAGE)
    key, public = dk.make_ssh_keypair(tmp_path)
    with dk.systemd_container(dk.SYSTEMD_IMAGE, ports=[22]) as container:
        state = dk.docker("exec", container, "systemctl", "is-system-running", check=False).stdout.strip()
        assert state in ("running", "degraded")
        assert dk.docker("exec", container, "cat", "/proc/1/comm").stdout.strip() == "systemd"
        dk.authorize_ssh_key(container, public)
        port = dk.host_port(container, 22)
        dk.wait_ssh(port, key)
        result = subprocess.run([*dk.ssh_argv(port, key), "sudo", "-n", "id", "-un"],
                                capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "root"
    assert dk.docker("inspect", container, check=False).returncode != 0, "container not removed"


def test_require_docker_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dk, "docker_status", lambda: (False, "engine not running (test)"))
    monkeypatch.setenv("REPRO_GEN_REQUIRE_DOCKER", "1")
    with pytest.raises(pytest.fail.Exception, match="engine not running"):
        dk.require_docker()
    monkeypatch.setenv("REPRO_GEN_REQUIRE_DOCKER", "0")
    monkeypatch.setenv("REPRO_GEN_REQUIRE_SERVICES", "1")  # requires every service, Docker too
    with pytest.raises(pytest.fail.Exception, match="engine not running"):
        dk.require_docker()
    monkeypatch.delenv("REPRO_GEN_REQUIRE_SERVICES")
    with pytest.raises(pytest.skip.Exception, match="engine not running"):
        dk.require_docker()


def test_require_tool_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import require

    monkeypatch.setenv("REPRO_GEN_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="no-such-tool-here is not installed: a reason"):
        require("no-such-tool-here", "a reason")
    monkeypatch.delenv("REPRO_GEN_REQUIRE_SERVICES")
    with pytest.raises(pytest.skip.Exception, match="no-such-tool-here is not installed"):
        require("no-such-tool-here")
    assert require("sh").endswith("/sh")


def test_fast_tier_leaves_out_files_by_their_imports_and_marks(tmp_path: Path) -> None:
    from . import tiers

    cases = {
        "import torch\n": "imports torch",
        "from mlflow.tracking import MlflowClient\n": "imports mlflow",
        "try:\n    import tensorflow as tf\nexcept ImportError:\n    tf = None\n": "imports tensorflow",
        "import pytest\npytestmark = [pytest.mark.slow, pytest.mark.docker]\n": "pytestmark slow",
        "import pytest\npytestmark = pytest.mark.heavy\n": "pytestmark heavy",
        "import pytest\n\ndef test_x():\n    import torch\n": None,  # imported only when it runs
        "from .conftest import spec_for\n": None,
        "import pytest\n@pytest.mark.slow\ndef test_x():\n    pass\n": None,  # deselected, not ignored
    }
    for i, (source, why) in enumerate(cases.items()):
        path = tmp_path / f"test_case_{i}.py"
        path.write_text(source)
        assert tiers.why_left_out(path) == why, source


def test_fast_tier_imports_no_heavy_package(tmp_path: Path) -> None:
    """The whole fast tier's collection, in a fresh interpreter: no heavy package gets imported."""
    code = ("import sys, pytest\n"
            "from tests.support import tiers\n"
            "rc = pytest.main(['--fast', '--collect-only', '-q', '-p', 'no:cacheprovider', 'tests'])\n"
            "print('HEAVY', sorted(tiers.heavy_loaded()))\n"
            "sys.exit(rc)\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "HEAVY []" in done.stdout, done.stdout[-3000:]
