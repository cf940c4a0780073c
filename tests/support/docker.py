"""Docker helpers: is the engine there, and containers that run systemd.

The test machines refuse ``--privileged``; a systemd container runs with the
flags in ``SYSTEMD_RUN_FLAGS`` instead. Base images are built locally by
``testbed/images.sh`` (no registry is reachable).
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .skips import REQUIRE_DOCKER, skip_or_fail

DEBIAN_IMAGE = "local/debian:bookworm"
SYSTEMD_IMAGE = "local/debian-systemd:bookworm"
PYTHON_IMAGE = "local/python:3.11-slim"
CONTAINER_PREFIX = "testbed-"

SYSTEMD_RUN_FLAGS: tuple[str, ...] = (
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined",
    "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
)


class DockerError(RuntimeError):
    """A docker command failed."""


def docker(*args: str, check: bool = True, timeout: float = 120.0,
           input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
    """Run ``docker ARGS``; raises ``DockerError`` with stderr when ``check`` and it fails."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                            input=input, check=False)
    if check and result.returncode != 0:
        raise DockerError(f"docker {' '.join(args)} failed ({result.returncode}):\n"
                          f"{result.stdout}{result.stderr}")
    return result


@functools.lru_cache(maxsize=1)
def docker_status() -> tuple[bool, str]:
    """(available, reason): whether a Docker engine answers, and why not."""
    if shutil.which("docker") is None:
        return False, "docker CLI not found (run testbed/apt.sh)"
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                                capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return False, "'docker info' timed out: the Docker engine does not answer"
    if result.returncode != 0 or not result.stdout.strip():
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return False, f"Docker engine not running (start it with testbed/dockerd.sh): {detail}"
    return True, f"Docker engine {result.stdout.strip()}"


def docker_available() -> bool:
    return docker_status()[0]


def require_docker() -> None:
    """Skip the test when no Docker engine runs; fail under REPRO_GEN_REQUIRE_DOCKER=1."""
    ok, reason = docker_status()
    if not ok:
        skip_or_fail(reason, REQUIRE_DOCKER)


def image_exists(image: str) -> bool:
    return docker("image", "inspect", image, check=False, timeout=30).returncode == 0


def require_image(image: str) -> None:
    """Docker and ``image`` must be present (skip or fail otherwise)."""
    require_docker()
    if not image_exists(image):
        skip_or_fail(f"image {image} not built (run testbed/images.sh)", REQUIRE_DOCKER)


def compose_available() -> bool:
    return docker_available() and docker("compose", "version", check=False).returncode == 0


def require_compose() -> None:
    require_docker()
    if docker("compose", "version", check=False).returncode != 0:
        skip_or_fail("'docker compose' not available (run testbed/compose.sh)", REQUIRE_DOCKER)


def unique_name(stem: str = "ct") -> str:
    """A container name with the ``testbed-`` prefix and a random suffix."""
    return f"{CONTAINER_PREFIX}{stem}-{secrets.token_hex(4)}"


def remove_container(name_or_id: str) -> None:
    """Force-remove a container (and its anonymous volumes); no error if it is gone."""
    docker("rm", "-f", "-v", name_or_id, check=False, timeout=60)


def run_systemd_container(image: str = SYSTEMD_IMAGE, name: str | None = None,
                          ports: Mapping[int, int | None] | Sequence[int] = (), *,
                          extra_args: Sequence[str] = (), wait: bool = True,
                          timeout: float = 90.0) -> str:
    """Start ``image`` with systemd as PID 1; returns the container id.

    ``ports`` maps container ports to host ports on 127.0.0.1 (``None`` or a
    plain list: Docker picks a free host port; see ``host_port``). With
    ``wait`` it returns once ``systemctl is-system-running`` says running or
    degraded. The caller removes the container (``remove_container``), or
    uses ``systemd_container``.
    """
    name = name or unique_name("systemd")
    mapping = dict.fromkeys(ports) if not isinstance(ports, Mapping) else dict(ports)
    args = ["run", "-d", "--name", name, "--hostname", name[:63], *SYSTEMD_RUN_FLAGS]
    for container_port, host in mapping.items():
        args += ["-p", f"127.0.0.1:{host or ''}:{container_port}"]
    args += [*extra_args, image]
    container_id = docker(*args).stdout.strip()
    if wait:
        try:
            wait_systemd(container_id, timeout=timeout)
        except Exception:
            remove_container(container_id)
            raise
    return container_id


def wait_systemd(container: str, timeout: float = 90.0) -> str:
    """Wait until systemd in ``container`` is up; returns the state (running/degraded)."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        result = docker("exec", container, "systemctl", "is-system-running", check=False, timeout=30)
        state = result.stdout.strip()
        if state in ("running", "degraded"):
            return state
        if docker("inspect", "-f", "{{.State.Running}}", container,
                  check=False).stdout.strip() == "false":
            break
        time.sleep(0.5)
    logs = docker("logs", "--tail", "40", container, check=False)
    failed = docker("exec", container, "systemctl", "--failed", "--no-legend", check=False)
    raise DockerError(f"systemd in {container} not up within {timeout:.0f} s (state: {state!r})\n"
                      f"failed units:\n{failed.stdout}\nlogs:\n{logs.stdout}{logs.stderr}")


@contextlib.contextmanager
def systemd_container(image: str = SYSTEMD_IMAGE, name: str | None = None,
                      ports: Mapping[int, int | None] | Sequence[int] = (),
                      **kwargs: object) -> Iterator[str]:
    """``run_systemd_container`` as a context manager that always removes the container."""
    require_image(image)
    container_id = run_systemd_container(image, name, ports, **kwargs)  # type: ignore[arg-type]
    try:
        yield container_id
    finally:
        remove_container(container_id)


def host_port(container: str, port: int) -> int:
    """The 127.0.0.1 host port published for ``port``/tcp of ``container``."""
    out = docker("port", container, f"{port}/tcp").stdout
    for line in out.splitlines():
        host, _, number = line.strip().rpartition(":")
        if host in ("127.0.0.1", "0.0.0.0") and number.isdigit():  # noqa: S104
            return int(number)
    raise DockerError(f"port {port} of {container} is not published: {out!r}")


# --------------------------------------------------------------------------- SSH into a container


def make_ssh_keypair(directory: str | Path, name: str = "id_ed25519") -> tuple[Path, str]:
    """Create an ed25519 key pair without passphrase; returns (private key path, public key)."""
    key = Path(directory) / name
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "testbed", "-f", str(key)],
                       check=True, capture_output=True)
    return key, key.with_suffix(".pub").read_text().strip()


def authorize_ssh_key(container: str, public_key: str, user: str = "cc") -> None:
    """Append ``public_key`` to ``user``'s authorized_keys in ``container``."""
    script = ('set -e; home=$(getent passwd "$1" | cut -d: -f6); install -d -m 700 -o "$1" -g "$1" "$home/.ssh"; '
              'cat >> "$home/.ssh/authorized_keys"; chown "$1:$1" "$home/.ssh/authorized_keys"; '
              'chmod 600 "$home/.ssh/authorized_keys"')
    docker("exec", "-i", container, "sh", "-c", script, "sh", user, input=public_key + "\n")


def ssh_argv(port: int, key: str | Path, user: str = "cc", host: str = "127.0.0.1") -> list[str]:
    """``ssh`` argv for a throw-away container: no host key checks, no agent, batch mode."""
    return ["ssh", "-p", str(port), "-i", str(key), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
            f"{user}@{host}"]


def wait_ssh(port: int, key: str | Path, user: str = "cc", timeout: float = 60.0) -> None:
    """Wait until ``ssh user@127.0.0.1 -p port true`` succeeds."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        result = subprocess.run([*ssh_argv(port, key, user), "true"], capture_output=True,
                                text=True, timeout=30, check=False)
        if result.returncode == 0:
            return
        last = result.stderr.strip()
        time.sleep(0.5)
    raise DockerError(f"ssh {user}@127.0.0.1:{port} did not work within {timeout:.0f} s: {last}")
