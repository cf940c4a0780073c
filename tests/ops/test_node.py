"""What runs on the head node: ssh to the address Terraform reported (with SSH and SSH_OPTS from
make), and the command lines `make logs`, `make restore` and `make train` hand to it, unexpanded,
so that the node's shell runs them."""

from __future__ import annotations

import pytest

from .conftest import HEAD, recorder, write_inventory


def test_the_head_is_reached_at_its_floating_ip_else_its_fixed_one(ops):
    assert ops.node.head_target(HEAD) == "cc@192.0.2.7"
    fixed = {**HEAD, "ssh_user": "ubuntu", "head": {**HEAD["head"], "floating_ip": None}}
    assert ops.node.head_target(fixed) == "ubuntu@10.0.0.5"


def test_no_inventory_says_make_inventory(ops):
    with pytest.raises(ops.steps.OpsError) as caught:
        ops.node.head_target()
    assert caught.value.hint == "make inventory" and "make up" in str(caught.value)


def test_ssh_options_come_before_the_host_and_the_command_after(ops, monkeypatch):
    write_inventory(ops.repo)
    monkeypatch.setenv("SSH_OPTS", "-p 2222 -i '/keys/my key'")
    argv = ops.node.ssh_argv("uptime", options=("-N",))
    assert argv == ["ssh", "-o", "StrictHostKeyChecking=accept-new", "-p", "2222", "-i",
                    "/keys/my key", "-N", "cc@192.0.2.7", "uptime"]


def test_logs_of_the_training_container_or_the_stack(ops, monkeypatch):
    train = ops.node.logs_command("train")
    assert "label=com.docker.compose.service=train" in train and "no training is running" in train
    assert ops.node.logs_command("mlflow") == (
        "cd /opt/minimal-study && sudo docker compose --env-file .env --env-file tracking.env"
        " -f compose/tracking.yml logs --tail 100 -f mlflow")
    monkeypatch.setenv("NODE_DIR", "/srv/stack")
    assert ops.node.logs_command("").startswith("cd /srv/stack && ")
    assert ops.node.logs_command("").endswith("logs --tail 100 -f")


def test_restore_stops_mlflow_restores_and_starts_it_whatever_happened(ops):
    command = ops.restore.node_command("20260101T000000Z")
    stop, run, start = (command.index(w) for w in ("stop mlflow", "run --rm -T backup", "start mlflow"))
    assert stop < run < start
    assert "python3 -m ops restore run --snapshot 20260101T000000Z; status=$?;" in command
    assert command.endswith("exit $status; }")
    assert "--snapshot" not in ops.restore.node_command(None)
    assert "--snapshot 'x; rm -rf /'" in ops.restore.node_command("x; rm -rf /")


def test_the_training_command_resumes_and_passes_the_overrides_to_the_nodes_shell(ops):
    command = ops.training.train_command("", "--set train.steps=5 --set 'a=b c'")
    assert command == ("cd /home/cc/minimal-study && REPRO_RESUME_RUN_ID=''"
                       " docker compose --env-file compose/.env.train -f compose/train.yml"
                       " run --rm train python training/train.py --set train.steps=5 --set 'a=b c'")
    resumed = ops.training.train_command("abc123", "")
    assert "REPRO_RESUME_RUN_ID=abc123 " in resumed and resumed.endswith("training/train.py")


def test_make_logs_runs_over_ssh(ops, tmp_path, monkeypatch):
    write_inventory(ops.repo)
    ssh, log = recorder(tmp_path, "ssh")
    monkeypatch.setenv("SSH", str(ssh))
    monkeypatch.setenv("SERVICE", "postgres")
    assert ops.cli.main(["logs"]) == 0
    assert log.read_text().strip().endswith("cc@192.0.2.7 " + ops.node.logs_command("postgres"))


def test_status_reports_each_check_and_fails_when_one_does(ops, tmp_path, monkeypatch, capsys):
    write_inventory(ops.repo)
    # The GPU probe answers, the stack and MLflow do not.
    ssh, _ = recorder(tmp_path, "ssh", 'case "$*" in *nvidia-smi*) echo "0, RTX 6000";; '
                                       '*) echo down >&2; exit 1;; esac')
    monkeypatch.setenv("SSH", str(ssh))
    assert ops.status.health() == 1
    out = capsys.readouterr().out
    assert "GPUs [ok]\n  0, RTX 6000" in out and "MLflow [FAILED]\n  down" in out


def test_summary_lists_nodes_and_how_to_reach_them(ops, capsys):
    write_inventory(ops.repo)
    assert ops.cli.main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "study-2" in out and "10.0.0.6 (via the head node)" in out
    assert "make ssh          (cc@192.0.2.7)" in out
    assert "lease extend --hours N" in out  # bare metal


def test_summary_on_kvm_says_the_lease_cannot_be_extended(ops_kvm, capsys):
    write_inventory(ops_kvm.repo)
    assert ops_kvm.cli.main(["summary"]) == 0
    assert "a KVM lease cannot be extended" in capsys.readouterr().out
