"""Back up the tracking stack to the Chameleon object store, which outlives the lease.

    python3 -m ops backup                        # `make backup`: on the node now, then the
                                                 # newest snapshots
    python3 -m ops backup run                    # here: PostgreSQL dump + artifact mirror, one
                                                 # snapshot, then prune (the node's backup job)
    python3 -m ops backup check --max-age-hours 24   # exit 0 if a complete snapshot is that recent
    python3 -m ops backup list                   # snapshots, oldest first
    python3 -m ops backup prune                  # delete snapshots older than the retention

On the node, `run` executes inside the `backup` compose service (a systemd timer runs it on the
spec's tracking.backup_schedule; `make backup` starts it on demand). `check` and `list` also work
from your laptop: they read .env (needs boto3, which `make tools` installs).

Layout in the backup bucket (ops/project.json, backups.bucket):
    tracking/snapshots/<UTC time>/postgres.dump    pg_dump --format=custom
    tracking/snapshots/<UTC time>/manifest.json    written last: a snapshot without it is incomplete
    tracking/blobs/sha256/<digest>                 artifact contents, stored once however many
                                                   snapshots refer to them
The manifest maps every artifact key to its digest, so a restore is exact byte for byte, and an
unchanged artifact is neither downloaded nor uploaded again.

Retention (tracking.backup_keep_days in the spec, BACKUP_KEEP_DAYS here): after each backup,
snapshots older than that are deleted, but never the newest complete one; then the blobs no kept
snapshot refers to, and the leftovers of interrupted backups. Objects younger than a day are never
pruned, so a backup running at the same time loses nothing.

Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE (libpq); ARTIFACT_S3_ENDPOINT_URL,
ARTIFACT_S3_ACCESS_KEY, ARTIFACT_S3_SECRET_KEY, ARTIFACT_BUCKET (the artifact store);
BACKUP_S3_ENDPOINT_URL, BACKUP_BUCKET, CHAMELEON_S3_ACCESS_KEY, CHAMELEON_S3_SECRET_KEY (the backup
destination).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import settings
from .secrets import parse
from .steps import OpsError, command, step

# Ceph RGW rejects the checksums newer boto3 versions send by default.
CHECKSUMS = {"AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED",
             "AWS_RESPONSE_CHECKSUM_VALIDATION": "WHEN_REQUIRED"}
STAMP = "%Y%m%dT%H%M%SZ"
FORMAT = 1
CHUNK = 1 << 20


class BackupError(OpsError):
    """A problem the user can fix (configuration, access, a missing snapshot)."""

    exit_code = 2


def defaults() -> dict[str, str]:
    """The project's values (ops/project.json, "backups"); the environment overrides them."""
    backups = settings.project()["backups"]
    return {"BACKUP_S3_ENDPOINT_URL": backups["endpoint"], "BACKUP_BUCKET": backups["bucket"],
            "BACKUP_PREFIX": backups["prefix"], "ARTIFACT_BUCKET": backups["artifact_bucket"],
            "BACKUP_KEEP_DAYS": str(backups["keep_days"])}


def env(name: str) -> str:
    value = os.environ.get(name) or defaults().get(name, "")
    if not value:
        raise BackupError(f"{name} is not set (see .env and compose/tracking.yml)")
    return value


def load_env_file(path: Path) -> None:
    """Read KEY=VALUE lines into the environment, without overriding what is already set."""
    if not path.exists():
        raise BackupError(f"{path} does not exist: run python3 -m ops secrets ensure")
    for key, value in parse(path.read_text(encoding="utf-8")).items():
        os.environ.setdefault(key, value)


def s3_client(endpoint: str, access_key: str, secret_key: str) -> Any:
    for name, value in CHECKSUMS.items():
        os.environ.setdefault(name, value)
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"},
                      retries={"max_attempts": 8, "mode": "standard"}),
    )


class Store:
    """The backup destination: a bucket and a prefix on the Chameleon object store."""

    def __init__(self) -> None:
        # BACKUP_S3_* override the Chameleon credentials (e.g. a dedicated backup key).
        access = os.environ.get("BACKUP_S3_ACCESS_KEY") or env("CHAMELEON_S3_ACCESS_KEY")
        secret = os.environ.get("BACKUP_S3_SECRET_KEY") or env("CHAMELEON_S3_SECRET_KEY")
        self.s3 = s3_client(env("BACKUP_S3_ENDPOINT_URL"), access, secret)
        self.bucket = env("BACKUP_BUCKET")
        self.prefix = env("BACKUP_PREFIX")

    def key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def blob_key(self, digest: str) -> str:
        return self.key("blobs", "sha256", digest)

    def ensure_bucket(self) -> None:
        if not bucket_exists(self.s3, self.bucket):
            self.s3.create_bucket(Bucket=self.bucket)

    def folders(self) -> dict[str, set[str]]:
        """Every snapshot folder, complete or not, with the names of the files in it."""
        if not bucket_exists(self.s3, self.bucket):
            return {}
        found: dict[str, set[str]] = {}
        for obj in list_objects(self.s3, self.bucket, self.key("snapshots") + "/"):
            folder, _, name = obj["Key"][len(self.key("snapshots")) + 1:].partition("/")
            if name:  # not a stray object beside the folders
                found.setdefault(folder, set()).add(name)
        return found

    def snapshots(self, folders: dict[str, set[str]] | None = None) -> list[str]:
        """Complete snapshots (those with a manifest), oldest first."""
        folders = self.folders() if folders is None else folders
        return sorted(stamp for stamp, names in folders.items() if "manifest.json" in names)

    def manifest(self, snapshot: str) -> dict[str, Any]:
        key = self.key("snapshots", snapshot, "manifest.json")
        return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())


def bucket_exists(s3: Any, bucket: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def list_objects(s3: Any, bucket: str, prefix: str = "") -> Iterator[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def object_exists(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_client() -> Any:
    return s3_client(env("ARTIFACT_S3_ENDPOINT_URL"), env("ARTIFACT_S3_ACCESS_KEY"),
                     env("ARTIFACT_S3_SECRET_KEY"))


def dump_postgres(path: Path) -> None:
    for name in ("PGHOST", "PGUSER", "PGDATABASE"):
        env(name)
    # Custom format: compressed, and pg_restore can --clean into an existing database.
    result = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                             f"--file={path}"], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def count_runs() -> int | None:
    """MLflow runs in the database (0 before MLflow created its tables; None if unknown)."""
    result = subprocess.run(["psql", "--no-psqlrc", "-tAc", "SELECT count(*) FROM runs"],
                            capture_output=True, text=True)
    if result.returncode == 0 and result.stdout.strip().isdigit():
        return int(result.stdout.strip())
    return 0 if 'relation "runs" does not exist' in result.stderr else None


def run_backup() -> str:
    store = Store()
    store.ensure_bucket()
    artifacts = artifact_client()
    artifact_bucket = env("ARTIFACT_BUCKET")
    # A snapshot is named by its second; a second backup within the same second waits for the next.
    for _ in range(3):
        snapshot = dt.datetime.now(dt.timezone.utc).strftime(STAMP)
        if not object_exists(store.s3, store.bucket, store.key("snapshots", snapshot, "manifest.json")):
            break
        time.sleep(1)
    else:
        raise BackupError(f"snapshot {snapshot} already exists; try again in a second")
    # Digests of unchanged objects are taken from the previous snapshot instead of re-reading them.
    known: dict[tuple[str, str, int], str] = {}
    previous = store.snapshots()
    if previous:
        for key, meta in store.manifest(previous[-1])["artifacts"]["objects"].items():
            known[(key, meta["etag"], meta["size"])] = meta["sha256"]
    objects: dict[str, dict[str, Any]] = {}
    copied = reused = 0
    with tempfile.TemporaryDirectory(prefix="tracking-backup-") as tmp:
        # The database first, then the artifacts: whatever a run logs meanwhile is then in the
        # artifact copy too, so every artifact the dump refers to is in the snapshot.
        dump = Path(tmp) / "postgres.dump"
        dump_postgres(dump)
        dump_digest = sha256_file(dump)
        runs = count_runs()
        scratch = Path(tmp) / "object"
        for obj in list_objects(artifacts, artifact_bucket):
            key, etag, size = obj["Key"], obj["ETag"].strip('"'), obj["Size"]
            digest = known.get((key, etag, size))
            if digest is None or not object_exists(store.s3, store.bucket, store.blob_key(digest)):
                artifacts.download_file(artifact_bucket, key, str(scratch))
                digest = sha256_file(scratch)
                if not object_exists(store.s3, store.bucket, store.blob_key(digest)):
                    store.s3.upload_file(str(scratch), store.bucket, store.blob_key(digest))
                    copied += 1
            else:
                reused += 1
            objects[key] = {"sha256": digest, "size": size, "etag": etag}
        store.s3.upload_file(str(dump), store.bucket,
                             store.key("snapshots", snapshot, "postgres.dump"))
        manifest = {
            "format": FORMAT,
            "snapshot": snapshot,
            "postgres": {"key": "postgres.dump", "sha256": dump_digest,
                         "size": dump.stat().st_size, "runs": runs},
            "artifacts": {"bucket": artifact_bucket, "objects": objects},
        }
        # The manifest goes last: its presence is what marks the snapshot complete.
        store.s3.put_object(Bucket=store.bucket,
                            Key=store.key("snapshots", snapshot, "manifest.json"),
                            Body=json.dumps(manifest, indent=1, sort_keys=True).encode(),
                            ContentType="application/json")
    where = f"s3://{store.bucket}/{store.key('snapshots', snapshot)}/"
    print(f"backup {snapshot}: database {manifest['postgres']['size']} bytes"
          f" ({'?' if runs is None else runs} runs),"
          f" {len(objects)} artifacts ({copied} uploaded, {reused} unchanged) -> {where}")
    return snapshot


def snapshot_time(snapshot: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(snapshot, STAMP).replace(tzinfo=dt.timezone.utc)
    except ValueError:  # not a folder `backup run` wrote
        return None


def snapshot_age(snapshot: str, now: dt.datetime | None = None) -> dt.timedelta:
    taken = snapshot_time(snapshot)
    assert taken is not None, snapshot
    return (now or dt.datetime.now(dt.timezone.utc)) - taken


def delete_folder(store: Store, snapshot: str, names: set[str]) -> None:
    """Delete a snapshot folder's files, the manifest first: from then on the snapshot is
    incomplete and nothing restores it."""
    for name in sorted(names, key=lambda n: n != "manifest.json"):
        store.s3.delete_object(Bucket=store.bucket, Key=store.key("snapshots", snapshot, name))


def prune(keep_days: float, grace_hours: float = 24.0) -> None:
    """Delete complete snapshots older than `keep_days` (never the newest), the leftovers of
    interrupted backups, and the blobs no kept snapshot refers to. Objects younger than
    `grace_hours` are left alone: a backup running meanwhile may be about to refer to them."""
    if not keep_days > 0:
        raise BackupError(f"keep {keep_days:g} days? Use a number of days above 0")
    store = Store()
    folders = store.folders()
    complete = store.snapshots(folders)
    if not complete:
        print("prune: no complete snapshot yet; nothing deleted")
        return
    now = dt.datetime.now(dt.timezone.utc)
    grace = now - dt.timedelta(hours=grace_hours)
    old = [s for s in complete[:-1] if snapshot_age(s, now) > dt.timedelta(days=keep_days)]
    kept = [s for s in complete if s not in old]
    for snapshot in old:
        delete_folder(store, snapshot, folders[snapshot])
    # Snapshot folders without a manifest: backups that stopped half way.
    interrupted = 0
    for stamp in sorted(set(folders) - set(complete)):
        taken = snapshot_time(stamp)
        if taken is not None and taken < grace:
            delete_folder(store, stamp, folders[stamp])
            interrupted += 1
    referenced = {meta["sha256"] for snapshot in kept
                  for meta in store.manifest(snapshot)["artifacts"]["objects"].values()}
    blobs = freed = 0
    for obj in list(list_objects(store.s3, store.bucket, store.key("blobs", "sha256") + "/")):
        digest = obj["Key"].rsplit("/", 1)[1]
        if digest not in referenced and obj["LastModified"] < grace:
            store.s3.delete_object(Bucket=store.bucket, Key=obj["Key"])
            blobs += 1
            freed += obj["Size"]
    print(f"prune: kept {len(kept)} snapshots (newer than {keep_days:g} days, and the newest);"
          f" deleted {len(old)} older, {interrupted} interrupted, {blobs} unused artifact copies"
          f" ({freed} bytes)")


def keep_days() -> float:
    value = env("BACKUP_KEEP_DAYS")
    try:
        return float(value)
    except ValueError:
        raise BackupError(f"BACKUP_KEEP_DAYS={value!r} is not a number of days") from None


def check(max_age_hours: float) -> int:
    """Exit 0 when a complete snapshot younger than `max_age_hours` exists, 1 otherwise."""
    store = Store()
    snapshots = store.snapshots()
    if not snapshots:
        print(f"no complete backup in s3://{store.bucket}/{store.prefix}: run `make backup` first",
              file=sys.stderr)
        return 1
    age = snapshot_age(snapshots[-1])
    hours = age.total_seconds() / 3600
    if hours > max_age_hours:
        print(f"latest backup {snapshots[-1]} is {hours:.1f} h old (limit {max_age_hours:g} h):"
              " run `make backup` first", file=sys.stderr)
        return 1
    print(f"latest backup {snapshots[-1]} is {hours:.1f} h old (limit {max_age_hours:g} h): ok")
    return 0


# ----- from here: the node's backup job, and the commands -------------------------------------

OFF = "Backups are off (tracking.backups: false in the spec): set it to true and re-render."
S3_HINT = "check CHAMELEON_S3_* in .env"


def require_enabled() -> dict[str, Any]:
    backups = settings.project()["backups"]
    if not backups["enabled"]:
        raise OpsError(OFF, hint="set tracking.backups: true in the spec and re-render")
    return backups


def store_errors(fn, *args: Any) -> Any:
    """Run a store operation, naming the object store in its errors instead of a traceback."""
    try:
        return fn(*args)
    except Exception as exc:  # botocore errors: name the endpoint, not a traceback
        if type(exc).__module__.startswith("botocore"):
            raise BackupError(f"object store error: {exc}") from None
        raise


def snapshot_names() -> list[str]:
    return Store().snapshots()


def on_node() -> None:
    """What `make backup` does: the node's backup unit, now, then the newest snapshots."""
    from . import node

    unit = require_enabled()["unit"]
    with step("backup", f"make ssh then journalctl -u {unit}; {S3_HINT}", "backup"):
        node.on_head(f"sudo systemctl start {unit}.service")
    with step("backup", S3_HINT):
        for snapshot in store_errors(snapshot_names)[-3:]:
            print(snapshot)


def require_recent(max_age_hours: float) -> None:
    """Stop unless a complete snapshot younger than `max_age_hours` exists (before `make down`)."""
    if store_errors(check, max_age_hours) != 0:
        raise OpsError()


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = command(commands, "backup", main, "back up the runs (PostgreSQL + artifacts) to the"
                " Chameleon object store: on the node now, or one of these commands", S3_HINT,
                description=__doc__.split("\n\n")[0])
    p.add_argument("--env-file", type=Path, default=settings.ROOT / ".env",
                   help="read variables from this file first, when it exists (default: .env)")
    sub = p.add_subparsers(dest="backup_command", metavar="COMMAND")
    runner = sub.add_parser("run", help="here: take a snapshot now, then prune (the node's job)")
    runner.add_argument("--no-prune", action="store_true", help="keep every older snapshot")
    checker = sub.add_parser("check", help="is there a complete snapshot younger than N hours?")
    checker.add_argument("--max-age-hours", type=float, default=24.0)
    sub.add_parser("list", help="list complete snapshots").set_defaults(step="backup-list")
    pruner = sub.add_parser("prune", help="delete snapshots older than the retention")
    pruner.add_argument("--keep-days", type=float, default=None,
                        help="default: BACKUP_KEEP_DAYS (the spec's tracking.backup_keep_days)")
    pruner.add_argument("--grace-hours", type=float, default=24.0,
                        help="never delete objects younger than this (default 24)")


def main(args: argparse.Namespace) -> int:
    require_enabled()
    if args.env_file and args.env_file.is_file():
        load_env_file(args.env_file)
    command = args.backup_command
    if command is None:
        on_node()
    elif command == "run":
        store_errors(run_backup)
        if not args.no_prune:
            store_errors(prune, keep_days())
    elif command == "prune":
        store_errors(prune, keep_days() if args.keep_days is None else args.keep_days,
                     args.grace_hours)
    elif command == "check":
        return store_errors(check, args.max_age_hours)
    else:
        for snapshot in store_errors(snapshot_names):
            print(snapshot)
    return 0
