"""The inventory document Ansible consumes, produced by the real terraform from the rendered module.

modules/inventory holds no provider, so it is applied here with real terraform and stand-in node
data (the real node data comes from OpenStack, which cannot be reached from the test machine).
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests import matrix

from .tf import RESERVATION_ID, init, parse, run_tf

MODULE = "terraform/modules/inventory"


def apply_inventory(module_dir, workdir, nodes: int) -> dict:
    shutil.copytree(module_dir, workdir)
    values = {
        "site": "CHI@TACC",
        "reservation_id": RESERVATION_ID,
        "ssh_user": "cc",
        "node_names": [f"study-{i}" for i in range(1, nodes + 1)],
        "node_ids": [f"id-{i}" for i in range(1, nodes + 1)],
        "fixed_ips": [f"10.52.0.{10 + i}" for i in range(1, nodes + 1)],
        "head_public_ip": "192.5.87.31",
    }
    (workdir / "terraform.tfvars.json").write_text(json.dumps(values))
    init(workdir)
    run_tf(["apply", "-auto-approve", "-input=false", "-lock=false"], workdir)
    out = run_tf(["output", "-json", "inventory"], workdir)
    return json.loads(out.stdout)


@pytest.mark.parametrize("nodes", [1, 3])
def test_inventory_shape(matrix_trees, tmp_path, nodes):
    groups = matrix.groups(matrix_trees, (f"{MODULE}/*",))
    assert len(groups) == 1, "the inventory module is the same for every combination"
    inventory = apply_inventory(groups[0].root / MODULE, tmp_path / "inv", nodes)
    assert inventory["schema"] == 1
    assert inventory["site"] == "CHI@TACC"
    assert inventory["reservation_id"] == RESERVATION_ID
    assert inventory["ssh_user"] == "cc"
    assert inventory["head"] == {"name": "study-1", "fixed_ip": "10.52.0.11",
                                 "floating_ip": "192.5.87.31"}
    assert [n["name"] for n in inventory["nodes"]] == [f"study-{i}" for i in range(1, nodes + 1)]
    head, *workers = inventory["nodes"]
    assert head == {"name": "study-1", "id": "id-1", "role": "head", "fixed_ip": "10.52.0.11",
                    "floating_ip": "192.5.87.31", "jump_host": None}
    for i, worker in enumerate(workers, start=2):
        # Workers have no public address: Ansible reaches them through the head (ProxyJump).
        assert worker == {"name": f"study-{i}", "id": f"id-{i}", "role": "worker",
                          "fixed_ip": f"10.52.0.{10 + i}", "floating_ip": None,
                          "jump_host": "192.5.87.31"}


def test_outputs_feed_the_inventory_module_everything_it_declares(matrix_trees):
    for group in matrix.groups(matrix_trees, ("terraform/outputs.tf", f"{MODULE}/*")):
        declared = {name for entry in parse(group.root / MODULE / "main.tf")["variable"]
                    for name in entry}
        outputs = parse(group.root / "terraform" / "outputs.tf")
        module = outputs["module"][0]["inventory"]
        passed = {k for k in module if k not in ("source", "__comments__")}
        assert passed == declared, group.ids
        assert module["source"] == "./modules/inventory"
        names = {name for entry in outputs["output"] for name in entry}
        assert {"inventory", "node_names", "fixed_ips", "head_floating_ip", "ssh_user"} <= names
        assert all(entry[n].get("description") for entry in outputs["output"] for n in entry)
