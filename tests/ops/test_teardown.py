"""`make down`: the backup and its age check come before anything is destroyed; FORCE=yes skips
them, CONFIRM=yes the question; no answer destroys nothing; the lease goes last, then the
node's address."""

from __future__ import annotations

import io

import pytest

from .conftest import recorder, write_inventory


@pytest.fixture
def calls(ops, monkeypatch):
    """The steps of `down`, recorded instead of run."""
    done: list[str] = []
    monkeypatch.setattr(ops.backup, "on_node", lambda: done.append("backup"))
    monkeypatch.setattr(ops.backup, "load_env_file", lambda path: None)
    monkeypatch.setattr(ops.backup, "require_recent",
                        lambda hours: done.append(f"check {hours:g} h"))
    monkeypatch.setattr(ops.terraform, "destroy", lambda: done.append("destroy") or 0)
    monkeypatch.setattr(ops.lease, "run",
                        lambda args, config: done.append(f"lease {args.lease_command}") or 0)
    return done


def test_backup_then_check_then_destroy_then_delete_the_lease(ops, calls, monkeypatch):
    write_inventory(ops.repo)
    monkeypatch.setenv("CONFIRM", "yes")
    assert ops.cli.main(["down"]) == 0
    assert calls == ["backup", "check 6 h", "destroy", "lease delete"]
    assert not (ops.repo / "ansible/inventory/terraform-output.json").exists()


def test_the_age_limit_comes_from_make(ops, calls, monkeypatch):
    monkeypatch.setenv("CONFIRM", "yes")
    monkeypatch.setenv("BACKUP_MAX_AGE_HOURS", "0.5")
    ops.cli.main(["down"])
    assert calls[1] == "check 0.5 h"


def test_a_stale_backup_stops_before_anything_is_destroyed(ops, calls, monkeypatch, capsys):
    def stale(hours: float) -> None:
        raise ops.steps.OpsError()
    monkeypatch.setattr(ops.backup, "require_recent", stale)
    monkeypatch.setenv("CONFIRM", "yes")
    assert ops.cli.main(["down"]) == 1
    assert calls == ["backup"]
    err = capsys.readouterr().err
    assert ('step "down" failed.\n*** Next: make backup; or FORCE=yes to destroy without a recent'
            " backup") in err


def test_force_destroys_without_a_new_backup(ops, calls, monkeypatch, capsys):
    monkeypatch.setenv("CONFIRM", "yes")
    monkeypatch.setenv("FORCE", "yes")
    assert ops.cli.main(["down"]) == 0
    assert calls == ["destroy", "lease delete"]
    assert "FORCE=yes: destroying without a new backup." in capsys.readouterr().out


@pytest.mark.parametrize(("answer", "destroyed"), [("y\n", True), ("n\n", False), ("", False)])
def test_without_confirm_it_asks(ops, calls, monkeypatch, answer, destroyed):
    monkeypatch.setenv("FORCE", "yes")
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    assert (ops.cli.main(["down"]) == 0) == destroyed
    assert ("destroy" in calls) == destroyed


def test_with_backups_off_it_says_what_is_lost(ops_kvm, monkeypatch, capsys):
    done: list[str] = []
    monkeypatch.setattr(ops_kvm.terraform, "destroy", lambda: done.append("destroy") or 0)
    monkeypatch.setattr(ops_kvm.lease, "run", lambda args, config: done.append("lease") or 0)
    monkeypatch.setenv("CONFIRM", "yes")
    assert ops_kvm.cli.main(["down"]) == 0
    assert done == ["destroy", "lease"]
    assert "runs on the node's disk are lost with it" in capsys.readouterr().out


def test_a_failed_destroy_keeps_the_lease(ops, monkeypatch, tmp_path, capsys):
    deleted: list[str] = []
    monkeypatch.setattr(ops.lease, "run", lambda args, config: deleted.append("lease") or 0)
    tool, log = recorder(tmp_path, "terraform", "exit 1")
    for name, value in (("TERRAFORM", str(tool)), ("CONFIRM", "yes"), ("FORCE", "yes")):
        monkeypatch.setenv(name, value)
    assert ops.cli.main(["down"]) == 1
    assert log.read_text() == "-chdir=terraform destroy -input=false -auto-approve\n"
    assert not deleted
    assert "Next: make status; then make down again" in capsys.readouterr().err
