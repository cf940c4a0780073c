"""Terraform as the Makefile ran it: -chdir=terraform, with the stray OS_* variables of
Chameleon's JupyterHub left out and this repository's clouds.yaml pointed at; and the inventory,
from Terraform's output or a saved one (TF_OUTPUT_JSON)."""

from __future__ import annotations

import json

import pytest

from .conftest import HEAD, recorder

STRAY = {"OS_AUTH_URL": "https://stray.invalid:5000/v3", "OS_PROJECT_ID": "p",
         "OS_CLOUD": "chi_uc", "PATH": "/usr/bin"}


def test_stray_openstack_variables_are_left_out(ops):
    env = ops.terraform.cloud_env(STRAY)
    assert env == {"OS_CLOUD": "chi_uc", "PATH": "/usr/bin"}


def test_the_repositorys_clouds_yaml_is_pointed_at_unless_one_is_set(ops):
    assert "OS_CLIENT_CONFIG_FILE" not in ops.terraform.cloud_env(STRAY)
    clouds = ops.repo / "clouds.yaml"
    clouds.write_text("clouds: {}\n")
    assert ops.terraform.cloud_env(STRAY)["OS_CLIENT_CONFIG_FILE"] == str(clouds)
    mine = {**STRAY, "OS_CLIENT_CONFIG_FILE": "/elsewhere/clouds.yaml"}
    assert ops.terraform.cloud_env(mine)["OS_CLIENT_CONFIG_FILE"] == "/elsewhere/clouds.yaml"


def test_provision_runs_init_then_apply_in_a_clean_environment(ops, tmp_path, monkeypatch):
    tool, log = recorder(tmp_path, "terraform", 'env | grep "^OS_" >> "$0.env"; exit 0')
    monkeypatch.setenv("TERRAFORM", str(tool))
    monkeypatch.setenv("OS_AUTH_URL", "https://stray.invalid:5000/v3")
    assert ops.cli.main(["provision"]) == 0
    assert log.read_text().splitlines() == ["-chdir=terraform init -input=false",
                                            "-chdir=terraform apply -input=false -auto-approve"]
    assert "OS_AUTH_URL" not in (tmp_path / "terraform.env").read_text()


def test_a_failed_apply_names_the_clouds_yaml_entry(ops, tmp_path, monkeypatch, capsys):
    tool, _ = recorder(tmp_path, "terraform", '[ "$2" = apply ] && exit 1; exit 0')
    monkeypatch.setenv("TERRAFORM", str(tool))
    assert ops.cli.main(["provision"]) == 1
    assert "Next: check clouds.yaml entry chi_uc and make status" in capsys.readouterr().err


def test_inventory_from_terraforms_output(ops, tmp_path, monkeypatch):
    tool, log = recorder(tmp_path, "terraform", f"echo '{json.dumps(HEAD)}'")
    monkeypatch.setenv("TERRAFORM", str(tool))
    assert ops.cli.main(["inventory"]) == 0
    assert log.read_text() == "-chdir=terraform output -json inventory\n"
    saved = ops.repo / "ansible/inventory/terraform-output.json"
    assert json.loads(saved.read_text()) == HEAD
    assert "study-1" in (ops.repo / "ansible/inventory/hosts.yml").read_text()


def test_inventory_from_a_saved_output_asks_no_terraform(ops, tmp_path, monkeypatch):
    saved = tmp_path / "output.json"
    saved.write_text(json.dumps(HEAD))
    monkeypatch.setenv("TF_OUTPUT_JSON", str(saved))
    monkeypatch.setenv("TERRAFORM", str(tmp_path / "no-terraform"))
    assert ops.cli.main(["inventory"]) == 0
    assert "study-2" in (ops.repo / "ansible/inventory/hosts.yml").read_text()


@pytest.mark.parametrize("missing", [True, False])
def test_inventory_failures_say_what_to_do(ops, tmp_path, monkeypatch, capsys, missing):
    if missing:
        monkeypatch.setenv("TF_OUTPUT_JSON", str(tmp_path / "nowhere.json"))
        hint = "check TF_OUTPUT_JSON"
    else:
        broken = tmp_path / "output.json"
        broken.write_text("{}")
        monkeypatch.setenv("TF_OUTPUT_JSON", str(broken))
        hint = "check ansible/inventory/terraform-output.json"
    assert ops.cli.main(["inventory"]) != 0
    assert f"Next: {hint}" in capsys.readouterr().err
