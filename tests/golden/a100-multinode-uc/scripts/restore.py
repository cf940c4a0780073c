#!/usr/bin/env python3
"""Restore the tracking stack from a snapshot taken by backup.py (latest by default).

    restore.py                      # the latest complete snapshot that holds runs
    restore.py --snapshot 20250101T030000Z

Brings a fresh node back to the same runs, params, metrics, models and artifacts: the database
is replaced by the snapshot's dump (pg_restore --clean, in one transaction), and every artifact
of the snapshot is written back to the artifact bucket after its SHA-256 is checked. Stop the
MLflow server first (`docker compose ... stop mlflow`) so that nothing writes meanwhile; the
Makefile's `restore` target does this. Same environment as backup.py.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The sibling module, wherever this script is run from.
from backup import (
    BackupError,
    Store,
    artifact_client,
    bucket_exists,
    env,
    load_env_file,
    object_exists,
    sha256_file,
)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--snapshot", help="snapshot to restore (default: the latest)")
    parser.add_argument("--env-file", type=Path, help="read variables from this file first")
    args = parser.parse_args(argv)
    try:
        if args.env_file:
            load_env_file(args.env_file)
        restore(args.snapshot)
        return 0
    except BackupError as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
