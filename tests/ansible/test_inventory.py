"""The generated inventory converter turns Terraform's `inventory` output into Ansible's inventory.

Its input here is a fixture standing in for `terraform output -json inventory` (tests cannot reach
the OpenStack API); the output is checked with Ansible's own `ansible-inventory`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests import matrix
from tests.conftest import require, run

FIXTURES = Path(__file__).parent / "fixtures"
THREE_NODES = FIXTURES / "terraform-inventory-3-nodes.json"
ALL_OUTPUTS = FIXTURES / "terraform-output-all.json"
SCRIPT = "ansible/inventory/from_terraform.py"


@pytest.fixture(scope="module")
def converters(matrix_trees) -> list[tuple[Path, str]]:
    """(script, combinations) once per distinct converter in the matrix."""
    return [(g.root / SCRIPT, g.ids) for g in matrix.groups(matrix_trees, [SCRIPT])]


def convert(script: Path, source: Path | str, out: Path) -> tuple[int, str]:
    proc = run(["python3", str(script), str(source), "-o", str(out)])
    return proc.returncode, proc.stderr


def ansible_inventory(path: Path) -> dict:
    require("ansible-inventory")
    proc = run(["ansible-inventory", "-i", str(path), "--list"])
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_combination_ships_an_executable_converter(matrix_trees):
    for tree in matrix_trees.values():
        script = tree / SCRIPT
        assert script.is_file() and os.access(script, os.X_OK), tree


def test_three_nodes_head_public_others_through_the_head(converters, tmp_path):
    for script, ids in converters:
        out = tmp_path / "hosts.yml"
        rc, err = convert(script, THREE_NODES, out)
        assert rc == 0, f"{ids}: {err}"
        inv = ansible_inventory(out)
        assert inv["head"]["hosts"] == ["study-1"], ids
        assert inv["nodes"]["hosts"] == ["study-1", "study-2", "study-3"], ids
        hostvars = inv["_meta"]["hostvars"]
        assert hostvars["study-1"]["ansible_host"] == "129.114.34.7"
        assert "ansible_ssh_common_args" not in hostvars["study-1"]
        for name, ip in (("study-2", "10.52.0.12"), ("study-3", "10.52.0.13")):
            assert hostvars[name]["ansible_host"] == ip
            assert hostvars[name]["ansible_ssh_common_args"] == (
                '-o ProxyCommand="ssh -W %h:%p -o StrictHostKeyChecking=accept-new cc@129.114.34.7"')
        assert all(h["ansible_user"] == "cc" for h in hostvars.values())
        assert all(h["ansible_python_interpreter"] == "/usr/bin/python3" for h in hostvars.values())


def test_accepts_the_full_terraform_output_json(converters, tmp_path):
    for script, ids in converters:
        out = tmp_path / "hosts.yml"
        rc, err = convert(script, ALL_OUTPUTS, out)
        assert rc == 0, f"{ids}: {err}"
        inv = ansible_inventory(out)
        assert inv["head"]["hosts"] == ["solo-1"]
        assert inv["_meta"]["hostvars"]["solo-1"]["ansible_host"] == "192.5.87.30"


def test_reads_stdin_and_output_is_deterministic(converters, tmp_path):
    for script, ids in converters:
        first = run(["python3", str(script)], input=THREE_NODES.read_text())
        second = run(["python3", str(script), "-"], input=THREE_NODES.read_text())
        assert first.returncode == 0 and first.stdout == second.stdout, ids
        assert first.stdout.startswith("# Written by inventory/from_terraform.py")
        assert first.stdout.endswith("\n") and "\r" not in first.stdout
        assert yaml.safe_load(first.stdout)["all"]["children"]["head"]["hosts"] == {"study-1": None}


def _nodes(**head) -> dict:
    node = {"name": "study-1", "fixed_ip": "10.52.0.11", "floating_ip": "129.114.34.7", "ssh_user": "cc"}
    node.update(head)
    return {"ssh_user": "cc", "nodes": [node]}


BAD_INPUTS = {
    "not json": ("terraform: no outputs", "is not JSON"),
    "no nodes": (json.dumps({"ssh_user": "cc", "nodes": []}), "non-empty `nodes` list"),
    "head without floating ip": (json.dumps(_nodes(floating_ip=None)), "head node but has no floating IP"),
    "bad fixed ip": (json.dumps(_nodes(fixed_ip="10.52.0.300")), "is not an IP address"),
    "host name with a quote": (json.dumps(_nodes(name='x" y')), "is not a valid host name"),
    "ssh user with a space": (json.dumps(_nodes(ssh_user="cc -oProxyCommand=x")), "is not a valid user name"),
    "duplicate name": (json.dumps({"nodes": [_nodes()["nodes"][0], _nodes(floating_ip=None)["nodes"][0]]}),
                       "appears twice"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_rejects_unusable_output_and_writes_nothing(case, converters, tmp_path):
    text, message = BAD_INPUTS[case]
    for script, ids in converters:
        out = tmp_path / "hosts.yml"
        out.write_text("previous inventory\n")
        proc = run(["python3", str(script), "-o", str(out)], input=text)
        assert proc.returncode == 2, f"{ids}: {proc.stdout}"
        assert message in proc.stderr, proc.stderr
        assert out.read_text() == "previous inventory\n", "a failed conversion must not touch the file"
        assert not list(tmp_path.glob(".hosts.*")), "temporary file left behind"


def test_generated_inventory_is_git_ignored(matrix_trees):
    for tree in matrix_trees.values():
        ignored = (tree / ".gitignore").read_text().splitlines()
        assert "ansible/inventory/hosts.yml" in ignored, tree
