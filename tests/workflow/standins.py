"""Stand-in container images for the end-to-end test, built on this machine and cached by content.

No registry is reachable from the test machine or from the test node, so the upstream images the
generated compose files pin are replaced by local builds re-tagged with the EXACT pinned names.
Each stand-in is labelled `repro.standin=<what it replaces>` and `repro.standin.hash=<hash of its
build inputs>`; a build is skipped when an image with that name and hash already exists.

- postgres:<pinned>        Debian 12's PostgreSQL 15 with an entrypoint that does what the official
                           image's does for the variables the stack sets (POSTGRES_USER/PASSWORD/DB).
- quay.io/minio/minio:<pinned>     SeaweedFS's S3 gateway (MinIO is in no reachable registry), started by a
                           `minio server /data` look-alike that takes MINIO_ROOT_USER/PASSWORD as
                           its only credentials, plus an `mc ready local` look-alike for the healthcheck.
- python:<pinned>-slim     local/python:3.11-slim (testbed/images.sh), re-tagged.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
from pathlib import Path

from tests.support.docker import DEBIAN_IMAGE, PYTHON_IMAGE, docker

POSTGRES_DOCKERFILE = f"""\
FROM {DEBIAN_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 \\
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh && mkdir -p /var/run/postgresql \\
    && chown postgres:postgres /var/run/postgresql
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
"""

POSTGRES_ENTRYPOINT = """\
#!/bin/sh
# Stand-in for the official postgres image's entrypoint (first start: initdb, user, database).
set -eu
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pw=$(mktemp); printf '%s\\n' "$POSTGRES_PASSWORD" > "$pw"; chown postgres "$pw"
    runuser -u postgres -- initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pw" \\
      --auth=scram-sha-256 >/dev/null
    rm -f "$pw"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    if [ "${POSTGRES_DB:-$POSTGRES_USER}" != "$POSTGRES_USER" ]; then
      runuser -u postgres -- postgres --single -D "$PGDATA" postgres <<SQL >/dev/null
CREATE DATABASE "$POSTGRES_DB" OWNER "$POSTGRES_USER";
SQL
    else
      runuser -u postgres -- postgres --single -D "$PGDATA" template1 <<SQL >/dev/null
CREATE DATABASE "$POSTGRES_USER" OWNER "$POSTGRES_USER";
SQL
    fi
  fi
  exec runuser -u postgres -- "$@" -D "$PGDATA"
fi
exec "$@"
"""

MINIO_DOCKERFILE = f"""\
FROM {PYTHON_IMAGE}
COPY weed /usr/local/bin/weed
COPY minio mc /usr/local/bin/
RUN chmod 0755 /usr/local/bin/weed /usr/local/bin/minio /usr/local/bin/mc
ENTRYPOINT ["/usr/local/bin/minio"]
CMD ["server", "/data"]
"""

MINIO_SCRIPT = """\
#!/bin/sh
# Stand-in for `minio server DIR [--console-address ...]`: SeaweedFS's S3 gateway on :9000 that
# accepts only MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (SigV4), data under DIR.
set -eu
[ "$1" = server ] || exec "$@"
dir=$2
mkdir -p "$dir/.seaweedfs"
cat > "$dir/.seaweedfs/s3.json" <<JSON
{"identities": [{"name": "root", "credentials": [{"accessKey": "$MINIO_ROOT_USER",
  "secretKey": "$MINIO_ROOT_PASSWORD"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
exec weed server -ip=127.0.0.1 -ip.bind=0.0.0.0 -dir="$dir/.seaweedfs" -filer -s3 -s3.port=9000 \\
  -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$dir/.seaweedfs/s3.json" \\
  -master.volumeSizeLimitMB=64 -volume.max=32 -volume.preStopSeconds=0
"""

MC_SCRIPT = """\
#!/usr/local/bin/python
# Stand-in for `mc ready local`: the S3 port answers (403 to an anonymous request).
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:9000/", timeout=3)
except urllib.error.HTTPError as exc:
    sys.exit(0 if exc.code == 403 else 1)
except OSError:
    sys.exit(1)
"""


def _digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return h.hexdigest()[:16]


def _label(image: str, key: str) -> str:
    result = docker("image", "inspect", "-f", f'{{{{index .Config.Labels "{key}"}}}}', image, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def build_cached(tag: str, replaces: str, files: dict[str, bytes], timeout: float = 900) -> None:
    """Build a stand-in from ``files`` (a Dockerfile and its context) unless it is up to date."""
    digest = _digest({**files, "base": docker("image", "inspect", "-f", "{{.Id}}",
                                              re.search(r"^FROM (\S+)", files["Dockerfile"].decode(), re.M)[1]
                                              ).stdout.encode()})
    if _label(tag, "repro.standin.hash") == digest:
        return
    with tempfile.TemporaryDirectory(prefix="e2e-standin-") as ctx:
        for name, data in files.items():
            (Path(ctx) / name).write_bytes(data)
        docker("build", "-q", "--label", f"repro.standin={replaces}",
               "--label", f"repro.standin.hash={digest}", "-t", tag, ctx, timeout=timeout)


def pinned_images(tree: Path) -> dict[str, str]:
    """{role: pinned upstream image} as the rendered compose file and Dockerfiles name them."""
    compose = (tree / "compose" / "tracking.yml").read_text()
    base = re.compile(r"^ARG BASE_IMAGE=(\S+)$", re.M)
    return {
        # The compose file quotes its images (image: "postgres:17.6-bookworm").
        "postgres": re.search(r'image: "?(postgres:[^\s"]+)', compose)[1],
        "minio": re.search(r'image: "?([^\s"]*minio/minio:[^\s"]+)', compose)[1],
        "mlflow-base": base.search((tree / "docker/mlflow/Dockerfile").read_text())[1],
        "train-base": base.search((tree / "docker/train/Dockerfile").read_text())[1],
    }


def build_standins(tree: Path, weed: Path) -> list[str]:
    """Build (or reuse) every stand-in the rendered tree needs; returns the pinned tags."""
    pins = pinned_images(tree)
    build_cached(pins["postgres"], "postgres (Debian PostgreSQL 15)", {
        "Dockerfile": POSTGRES_DOCKERFILE.encode(), "entrypoint.sh": POSTGRES_ENTRYPOINT.encode()})
    build_cached(pins["minio"], "minio (SeaweedFS S3 gateway)", {
        "Dockerfile": MINIO_DOCKERFILE.encode(), "weed": Path(weed).read_bytes(),
        "minio": MINIO_SCRIPT.encode(), "mc": MC_SCRIPT.encode()})
    for key in ("mlflow-base", "train-base"):
        docker("tag", PYTHON_IMAGE, pins[key])
    return list(pins.values())


def build_project_image(tag: str, dockerfile: Path, context: Path, timeout: float = 1500) -> str:
    """`docker build` of a rendered Dockerfile (Docker's layer cache makes a rerun instant)."""
    proc = subprocess.run(["docker", "build", "-q", "-t", tag, "-f", str(dockerfile), str(context)],
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"building {tag} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return docker("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip()


def save_into(container: str, images: list[str], timeout: float = 900) -> None:
    """`docker save IMAGES | docker exec -i CONTAINER docker load` (the node's engine)."""
    save = subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE)
    try:
        load = subprocess.run(["docker", "exec", "-i", container, "docker", "load", "-q"], stdin=save.stdout,
                              capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        save.stdout.close()
        save.wait(timeout=60)
    if load.returncode != 0 or save.returncode != 0:
        raise RuntimeError(f"loading images into {container} failed: {load.stderr[-2000:]}")

