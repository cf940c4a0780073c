"""The backup commands' own logic, without an object store (tests/tracking/test_stack_native.py
runs them against real PostgreSQL and S3): the age check `make down` relies on, the settings and
their overrides, .env reading, which snapshot a restore picks, and backups turned off."""

from __future__ import annotations

import datetime as dt
import os
from typing import ClassVar

import pytest

from .conftest import recorder, write_inventory


def stamp(hours_ago: float) -> str:
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_ago)
    return when.strftime("%Y%m%dT%H%M%SZ")


class FakeStore:
    bucket, prefix = "minimal-study-backups", "tracking/"
    found: ClassVar[list[str]] = []
    runs: ClassVar[dict[str, int]] = {}

    def __init__(self) -> None:
        pass

    def snapshots(self) -> list[str]:
        return list(self.found)

    def manifest(self, snapshot: str) -> dict:
        return {"postgres": {"runs": self.runs.get(snapshot, 1)}}


@pytest.fixture
def store(ops, monkeypatch):
    monkeypatch.setattr(ops.backup, "Store", FakeStore)
    FakeStore.found, FakeStore.runs = [], {}
    return FakeStore


@pytest.mark.parametrize(("ages", "limit", "ok"), [([30.0, 2.0], 6, True), ([30.0, 7.0], 6, False),
                                                   ([], 6, False), ([0.5], 0, False)])
def test_the_age_check_before_down(ops, store, capsys, ages, limit, ok):
    store.found = sorted(stamp(a) for a in ages)
    if ok:
        ops.backup.require_recent(limit)
        assert ": ok" in capsys.readouterr().out
    else:
        with pytest.raises(ops.steps.OpsError):
            ops.backup.require_recent(limit)
        assert "run `make backup` first" in capsys.readouterr().err


def test_snapshot_ages_and_names_it_did_not_write(ops):
    now = dt.datetime(2026, 1, 2, 3, 0, tzinfo=dt.timezone.utc)
    assert ops.backup.snapshot_age("20260102T010000Z", now) == dt.timedelta(hours=2)
    assert ops.backup.snapshot_time("not-a-snapshot") is None


def test_settings_come_from_project_json_and_the_environment_wins(ops, monkeypatch):
    assert ops.backup.env("BACKUP_BUCKET") == "minimal-study-backups"
    assert ops.backup.env("BACKUP_KEEP_DAYS") == "14"
    assert ops.backup.env("BACKUP_S3_ENDPOINT_URL") == "https://chi.uc.chameleoncloud.org:7480"
    monkeypatch.setenv("BACKUP_BUCKET", "elsewhere")
    assert ops.backup.env("BACKUP_BUCKET") == "elsewhere"
    monkeypatch.delenv("PGHOST", raising=False)
    with pytest.raises(ops.backup.BackupError, match="PGHOST is not set"):
        ops.backup.env("PGHOST")


def test_env_file_fills_in_what_the_environment_lacks(ops, tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("# keys\nCHAMELEON_S3_ACCESS_KEY='from-file'\nexport BACKUP_BUCKET=b\n"
                        "BACKUP_S3_ENDPOINT_URL=http://file\n")
    monkeypatch.delenv("CHAMELEON_S3_ACCESS_KEY", raising=False)
    monkeypatch.delenv("BACKUP_BUCKET", raising=False)
    monkeypatch.setenv("BACKUP_S3_ENDPOINT_URL", "http://env")
    ops.backup.load_env_file(env_file)
    assert os.environ["CHAMELEON_S3_ACCESS_KEY"] == "from-file"
    assert os.environ["BACKUP_BUCKET"] == "b"
    assert os.environ["BACKUP_S3_ENDPOINT_URL"] == "http://env"
    with pytest.raises(ops.backup.BackupError, match="ops secrets ensure"):
        ops.backup.load_env_file(tmp_path / "missing.env")


def test_restore_skips_snapshots_without_runs(ops, store, capsys):
    store.found = ["20260101T000000Z", "20260102T000000Z", "20260103T000000Z"]
    store.runs = {"20260102T000000Z": 0, "20260103T000000Z": 0}
    assert ops.restore.latest_with_runs(store(), store.found) == "20260101T000000Z"
    assert capsys.readouterr().out.count("it holds no runs") == 2
    store.runs = {s: 0 for s in store.found}
    assert ops.restore.latest_with_runs(store(), store.found) == "20260103T000000Z"


def test_backup_now_starts_the_nodes_unit_then_lists_the_newest(ops, store, tmp_path,
                                                               monkeypatch, capsys):
    write_inventory(ops.repo)
    ssh, log = recorder(tmp_path, "ssh")
    monkeypatch.setenv("SSH", str(ssh))
    store.found = [f"2026010{d}T000000Z" for d in range(1, 6)]
    assert ops.cli.main(["backup"]) == 0
    assert log.read_text().strip().endswith("cc@192.0.2.7 sudo systemctl start"
                                            " minimal-study-backup.service")
    assert capsys.readouterr().out.split()[-3:] == store.found[-3:]


def test_a_failed_backup_unit_points_at_its_journal(ops, tmp_path, monkeypatch, capsys):
    write_inventory(ops.repo)
    ssh, _ = recorder(tmp_path, "ssh", "exit 1")
    monkeypatch.setenv("SSH", str(ssh))
    assert ops.cli.main(["backup"]) == 1
    assert "Next: make ssh then journalctl -u minimal-study-backup" in capsys.readouterr().err


def test_object_store_errors_are_named_not_a_traceback(ops):
    botocore_error = type("EndpointConnectionError", (Exception,), {"__module__": "botocore.x"})

    def fails() -> None:
        raise botocore_error("no route to the store")
    with pytest.raises(ops.backup.BackupError, match="object store error: no route"):
        ops.backup.store_errors(fails)
    with pytest.raises(ZeroDivisionError):
        ops.backup.store_errors(lambda: 1 / 0)


@pytest.mark.parametrize("words", [["backup"], ["backup", "list"], ["backup", "run"],
                                   ["restore"], ["restore", "run"]])
def test_backups_off_every_backup_command_says_so(ops_kvm, capsys, words):
    assert ops_kvm.cli.main(words) == 1
    assert "tracking.backups: false in the spec" in capsys.readouterr().err
