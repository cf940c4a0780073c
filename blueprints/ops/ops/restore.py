"""Restore the tracking stack from a snapshot taken by `backup run` (latest by default).

    python3 -m ops restore                       # on the node: MLflow stops, `restore run` in the
                                                 # backup service, MLflow starts (`make restore`)
    python3 -m ops restore run                   # here: the latest complete snapshot with runs
    python3 -m ops restore run --snapshot 20250101T030000Z

Brings a fresh node back to the same runs, params, metrics, models and artifacts: the database
is replaced by the snapshot's dump (pg_restore --clean, in one transaction), and every artifact
of the snapshot is written back to the artifact bucket after its SHA-256 is checked. Stop the
MLflow server first (`docker compose ... stop mlflow`) so that nothing writes meanwhile; the
command without `run` does this. Same environment as `backup run`.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import tempfile
from pathlib import Path

from . import node
from .backup import (
    BackupError,
    Store,
    artifact_client,
    bucket_exists,
    env,
    load_env_file,
    object_exists,
    require_enabled,
    sha256_file,
    store_errors,
)
from .settings import knob
from .steps import command, step


def latest_with_runs(store: Store, available: list[str]) -> str:
    """The newest snapshot that holds runs. A backup taken on a fresh node before anything was
    restored (the timer, or `make down` on a new lease) holds none and must not hide the last
    real one; it is skipped, and said so."""
    for snapshot in reversed(available):
        if store.manifest(snapshot)["postgres"].get("runs") != 0:
            return snapshot
        print(f"skipping snapshot {snapshot}: it holds no runs (pass --snapshot to restore it)")
    return available[-1]


def restore(snapshot: str | None) -> str:
    store = Store()
    available = store.snapshots()
    if not available:
        raise BackupError(f"no complete snapshot in s3://{store.bucket}/{store.prefix}")
    if snapshot is None:
        snapshot = latest_with_runs(store, available)
    elif snapshot not in available:
        raise BackupError(f"snapshot {snapshot} not found; available: {', '.join(available)}")
    manifest = store.manifest(snapshot)
    artifacts = artifact_client()
    bucket = env("ARTIFACT_BUCKET")
    if not bucket_exists(artifacts, bucket):
        artifacts.create_bucket(Bucket=bucket)
    written = kept = 0
    with tempfile.TemporaryDirectory(prefix="tracking-restore-") as tmp:
        dump = Path(tmp) / "postgres.dump"
        store.s3.download_file(store.bucket, store.key("snapshots", snapshot, "postgres.dump"),
                               str(dump))
        if sha256_file(dump) != manifest["postgres"]["sha256"]:
            raise BackupError(f"snapshot {snapshot}: the database dump does not match its checksum")
        scratch = Path(tmp) / "object"
        for key, meta in sorted(manifest["artifacts"]["objects"].items()):
            current = object_exists(artifacts, bucket, key)
            if (current is not None and current["ContentLength"] == meta["size"]
                    and current["ETag"].strip('"') == meta["etag"]):
                kept += 1  # still there, unchanged (e.g. on the Chameleon object store)
                continue
            store.s3.download_file(store.bucket, store.blob_key(meta["sha256"]), str(scratch))
            if sha256_file(scratch) != meta["sha256"]:
                raise BackupError(f"artifact {key}: the backup copy does not match its checksum")
            artifacts.upload_file(str(scratch), bucket, key)
            written += 1
        # Database last: once it lists the runs, their artifacts are already in place.
        result = subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
             "--single-transaction", "--exit-on-error", f"--dbname={env('PGDATABASE')}", str(dump)],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    print(f"restored {snapshot}: database and {len(manifest['artifacts']['objects'])} artifacts"
          f" ({written} written, {kept} already in place)")
    return snapshot


def node_command(snapshot: str | None) -> str:
    """What `make restore` runs on the head node: MLflow stops, the backup service restores, and
    MLflow starts again whatever the restore did; the restore's exit status is the command's."""
    compose = node.tracking_compose()
    job = "python3 -m ops restore run"
    if snapshot:
        job += f" --snapshot {shlex.quote(snapshot)}"
    return node.in_stack_dir(f"{compose} stop mlflow && {{ {compose} run --rm -T backup {job};"
                             f" status=$?; {compose} start mlflow; exit $status; }}")


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = command(commands, "restore", main, "restore the latest backup into the tracking stack on"
                " the node (SNAPSHOT or --snapshot for another)",
                "make backup-list shows the snapshots", description=__doc__.split("\n\n")[0])
    p.add_argument("--snapshot", help="snapshot to restore (default: SNAPSHOT, else the latest)")
    sub = p.add_subparsers(dest="restore_command", metavar="COMMAND")
    here = sub.add_parser("run", help="here: restore into the stack this process reaches (the"
                          " backup service)")
    here.add_argument("--snapshot", help="snapshot to restore (default: the latest)")
    here.add_argument("--env-file", type=Path, help="read variables from this file first")


def main(args: argparse.Namespace) -> int:
    require_enabled()
    if args.restore_command == "run":
        if args.env_file:
            load_env_file(args.env_file)
        store_errors(restore, args.snapshot)
        return 0
    with step("restore", "make backup-list shows the snapshots",
              "restore (the MLflow server stops meanwhile)"):
        return node.on_head(node_command(args.snapshot or knob("SNAPSHOT") or None))
