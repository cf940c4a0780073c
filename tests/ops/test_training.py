"""`make train` and `make train-local` through the ops package: the image is shipped with the
lease ids the run records, the run's output is relayed with MLflow's address made reachable, and
a local run gets the spec's seed and no GPU check."""

from __future__ import annotations

import io
import json
import shlex
import sys

from .conftest import recorder, write_inventory


def test_the_relay_rewrites_mlflows_address_line_by_line(ops):
    out = io.BytesIO()
    ops.training.relay(io.BytesIO(b"step 1\nrun at http://mlflow:5000/#/runs/1\n"), out)
    assert out.getvalue() == b"step 1\nrun at http://127.0.0.1:5000/#/runs/1\n"


def test_train_ships_with_the_lease_ids_then_runs_on_the_head(ops, tmp_path, monkeypatch,
                                                              capfdbinary):
    write_inventory(ops.repo)
    (ops.repo / "terraform" / "lease-status.json").write_text(json.dumps(
        {"lease_id": "L-1", "reservation_id": "R-1"}))
    playbook, plays = recorder(tmp_path, "ansible-playbook",
                               'echo "$CHAMELEON_LEASE_ID $CHAMELEON_RESERVATION_ID $ANSIBLE_CONFIG"'
                               f' >> {tmp_path}/play.env; echo "cwd $(pwd)" >> {tmp_path}/play.env')
    ssh, runs = recorder(tmp_path, "ssh", "echo 'tracking: http://mlflow:5000/x'")
    for name, value in (("ANSIBLE_PLAYBOOK", str(playbook)), ("SSH", str(ssh)),
                        ("ANSIBLE_ARGS", "-e @overrides.yml"), ("ARGS", "--set train.steps=3"),
                        ("RUN_ID", "abc")):
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.stdin", io.StringIO())  # no terminal: no -t
    assert ops.cli.main(["train"]) == 0
    assert plays.read_text() == "site.yml --tags training -e @overrides.yml\n"
    lease_ids, cwd = (tmp_path / "play.env").read_text().splitlines()
    assert lease_ids == f"L-1 R-1 {ops.repo}/ansible/ansible.cfg" and cwd == f"cwd {ops.repo}/ansible"
    remote = runs.read_text()
    assert " -t " not in remote and "REPRO_RESUME_RUN_ID=abc " in remote
    assert remote.strip().endswith("training/train.py --set train.steps=3")
    assert b"tracking: http://127.0.0.1:5000/x" in capfdbinary.readouterr().out


def test_train_without_a_lease_status_records_empty_ids(ops, tmp_path, monkeypatch):
    playbook, _ = recorder(tmp_path, "ansible-playbook",
                           f'echo "[$CHAMELEON_LEASE_ID]" > {tmp_path}/ids')
    monkeypatch.setenv("ANSIBLE_PLAYBOOK", str(playbook))
    assert ops.cli.main(["configure"]) == 0
    assert (tmp_path / "ids").read_text() == "[]\n"


def test_a_failed_run_says_how_to_resume(ops, tmp_path, monkeypatch, capsys):
    write_inventory(ops.repo)
    playbook, _ = recorder(tmp_path, "ansible-playbook")
    ssh, _ = recorder(tmp_path, "ssh", "exit 255")
    monkeypatch.setenv("ANSIBLE_PLAYBOOK", str(playbook))
    monkeypatch.setenv("SSH", str(ssh))
    monkeypatch.setattr("sys.stdin", io.StringIO())
    assert ops.cli.main(["train"]) == 1
    assert "Next: make logs; resume with make train RUN_ID=<run id>" in capsys.readouterr().err


def test_train_local_runs_the_entry_point_with_the_seed_and_no_gpu_check(ops, monkeypatch,
                                                                         capfd):
    python = ops.repo / ".venv-train" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    (ops.repo / "training" / "train.py").write_text(
        "import os, sys\nprint('ran', os.environ['REPRO_EXPECT_GPU'],"
        " os.environ['PYTHONHASHSEED'], sys.argv[1:])\n")
    monkeypatch.setenv("ARGS", "--set 'a=b c'")
    assert ops.cli.main(["train-local"]) == 0
    out = capfd.readouterr().out
    assert "ran 0 42 ['--set', 'a=b c']" in out
    assert shlex.join(ops.training.local_ui_argv()) in out


def test_train_local_without_its_venv_says_how_to_get_it(ops, capsys):
    assert ops.cli.main(["train-local"]) == 1
    assert "Next: make train-local (it installs it)" in capsys.readouterr().err
