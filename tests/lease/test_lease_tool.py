"""lease/lease.py against a stand-in for Chameleon's Keystone and Blazar (tests/lease/fake_openstack.py).

Chameleon cannot be reached from the test machine; the stand-in is a real HTTP server on 127.0.0.1,
and the tool runs unmodified, as a subprocess, with a clouds.yaml that points at it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .fake_openstack import FakeOpenStack, State

BAREMETAL = "chi-tacc-nvidia-pytorch-minio-n2"  # gpu_a100_pcie x2
KVM = "kvm-tacc-nvidia-pytorch-minio-n1"  # g1.h100.pci.1
H100_FLAVOR = {"id": "c1a7f0e2-h100", "name": "g1.h100.pci.1", "extra_specs": {}}


def tree_for(matrix_trees, combo_id: str, dest: Path) -> Path:
    src = next(p for c, p in matrix_trees.items() if c.id == combo_id)
    shutil.copytree(src, dest)
    return dest


def lease_tool(tree: Path, fake: FakeOpenStack, *args: str, secret: str | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    config = json.loads((tree / "lease" / "lease.json").read_text())
    clouds = tree / "clouds.yaml"
    clouds.write_text(fake.clouds_yaml(config["cloud"], **({"secret": secret} if secret else {})))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(clouds), OS_AUTH_URL="https://stray.invalid:5000/v3")
    return subprocess.run([sys.executable, "lease/lease.py", *args], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def tfvars(tree: Path) -> dict:
    return json.loads((tree / "terraform" / "lease.auto.tfvars.json").read_text())


FAST = ("--timeout", "5", "--interval", "0.05")


def test_bare_metal_request_body_and_tfvars(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC")) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (post,) = fake.state.sent("POST", "/v1/leases")
        body = post.body
        assert body["name"] == "matrix-study"
        assert body["start_date"] == "now"
        end = dt.datetime.strptime(body["end_date"], "%Y-%m-%d %H:%M")
        expected_end = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(hours=24)
        assert abs((end - expected_end).total_seconds()) < 120
        assert body["reservations"] == [{
            "resource_type": "physical:host",
            "resource_properties": '["==", "$node_type", "gpu_a100_pcie"]',
            "hypervisor_properties": "",
            "min": 2,
            "max": 2,
        }]
        assert body["events"] == []
        lease = next(iter(fake.state.leases.values()))
        # The RESERVATION id (not the lease id) is what the scheduler hint needs.
        assert tfvars(tree) == {"reservation_id": lease["reservations"][0]["id"]}
        assert "ACTIVE" in proc.stdout and "PENDING" in proc.stdout  # visible progress
        # The token came from the application credential in clouds.yaml, not the stray OS_ vars.
        (auth,) = fake.state.sent("POST", "/auth/tokens")
        assert auth.body["auth"]["identity"]["methods"] == ["application_credential"]
        assert "ignoring OS_AUTH_URL" in proc.stderr


def test_kvm_request_body_and_reserved_flavor(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, KVM, tmp_path / "t")
    state = State(region="KVM@TACC", flavors=[dict(H100_FLAVOR),
                                              {"id": "m1l", "name": "m1.large", "extra_specs": {}}])
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (post,) = fake.state.sent("POST", "/v1/leases")
        assert post.body["reservations"] == [{
            "resource_type": "flavor:instance",
            "flavor_id": "c1a7f0e2-h100",
            "amount": 1,
            "affinity": None,
        }]
        lease = next(iter(fake.state.leases.values()))
        reservation_id = lease["reservations"][0]["id"]
        assert tfvars(tree) == {"reservation_id": reservation_id,
                                "flavor_id": f"flavor-{reservation_id}"}
        flavor_calls = fake.state.sent("GET", "/flavors/detail")
        assert all(c.headers.get("OpenStack-API-Version") == "compute 2.61" for c in flavor_calls)


A100_X2 = {"resource_type": "physical:host", "min": 2, "max": 2,
           "resource_properties": '["==", "$node_type", "gpu_a100_pcie"]'}


def test_existing_active_lease_is_reused(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC")
    other = state.add_lease("someone-else", "ACTIVE", {"resource_type": "physical:host"})
    mine = state.add_lease("matrix-study", "ACTIVE", A100_X2)
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert fake.state.sent("POST", "/v1/leases") == []
        assert "Reusing ACTIVE lease" in proc.stdout
        assert tfvars(tree) == {"reservation_id": mine["reservations"][0]["id"]}
        assert other["id"] in fake.state.leases  # untouched


def test_a_pending_lease_of_the_same_name_is_waited_for_not_duplicated(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC", activate_after=2)
    pending = state.add_lease("matrix-study", "PENDING", A100_X2)
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert fake.state.sent("POST", "/v1/leases") == []
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "already exists (PENDING); waiting" in proc.stdout
    assert tfvars(tree) == {"reservation_id": pending["reservations"][0]["id"]}


@pytest.mark.parametrize(("reservation", "found"), [
    ({**A100_X2, "min": 1, "max": 1}, "reserves 1 host(s)"),
    ({**A100_X2, "resource_properties": '["==", "$node_type", "gpu_a100"]'},
     'hosts matching ["==", "$node_type", "gpu_a100"]'),
])
def test_a_lease_that_reserves_something_else_is_not_reused(matrix_trees, tmp_path, reservation,
                                                            found):
    """E.g. node_count went from 1 to 2: reusing the old lease would fail later, in terraform."""
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC")
    state.add_lease("matrix-study", "ACTIVE", reservation)
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert fake.state.sent("POST", "/v1/leases") == []
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert found in proc.stderr and "the spec asks for 2 x gpu_a100_pcie" in proc.stderr
    assert "delete --yes" in proc.stderr
    assert not (tree / "terraform" / "lease.auto.tfvars.json").exists()


def test_kvm_lease_with_another_flavor_is_not_reused(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, KVM, tmp_path / "t")
    state = State(region="KVM@TACC", flavors=[H100_FLAVOR])
    state.add_lease("matrix-study", "ACTIVE", {"resource_type": "flavor:instance",
                                               "flavor_id": "m1-large-id", "amount": 1})
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
    assert proc.returncode == 1 and "reserves flavor m1-large-id" in proc.stderr, proc.stderr


def test_a_teammates_lease_of_the_same_name_is_never_reused_or_deleted(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC")
    theirs = state.add_lease("matrix-study", "ACTIVE", A100_X2, user_id="teammate")
    with FakeOpenStack(state) as fake:
        for args in (("create", *FAST), ("delete", "--yes"), ("extend", "--hours", "2")):
            proc = lease_tool(tree, fake, *args)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert "belongs to another user" in proc.stderr and "project.name" in proc.stderr
        assert theirs["id"] in fake.state.leases
        assert not fake.state.sent("POST", "/v1/leases") and not fake.state.sent("PUT", "")


def test_lease_lengths_are_checked(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC")) as fake:
        zero = lease_tool(tree, fake, "create", "--hours", "0", *FAST)
        assert zero.returncode == 1 and "--hours must be from 1" in zero.stderr
        assert lease_tool(tree, fake, "create", *FAST).returncode == 0
        shorter = lease_tool(tree, fake, "extend", "--hours", "-5")
        assert shorter.returncode == 1 and "1 or more" in shorter.stderr
        assert not fake.state.sent("PUT", "")


def test_a_lease_for_later_says_how_to_finish(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    later = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    with FakeOpenStack(State(region="CHI@TACC", activate_after=None)) as fake:
        proc = lease_tool(tree, fake, "create", "--start", later, *FAST)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "lease/lease.py wait" in proc.stdout
        # `wait` on a lease that is still pending times out clearly; tfvars only once ACTIVE.
        waited = lease_tool(tree, fake, "wait", "--timeout", "0.3", "--interval", "0.05")
        assert waited.returncode == 3 and "still PENDING" in waited.stderr
        assert not (tree / "terraform" / "lease.auto.tfvars.json").exists()
        fake.state.activate_after = 0
        done = lease_tool(tree, fake, "wait", *FAST)
        assert done.returncode == 0, done.stderr
        assert tfvars(tree)["reservation_id"]


def test_pending_too_long_times_out_with_a_clear_error(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC", activate_after=None)) as fake:
        proc = lease_tool(tree, fake, "create", "--timeout", "0.5", "--interval", "0.05")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "still PENDING" in proc.stderr and "Blazar has not started it" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tree / "terraform" / "lease.auto.tfvars.json").exists()


def test_error_state_is_reported(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC", final_status="ERROR")) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "went to ERROR" in proc.stderr and "delete --yes" in proc.stderr
    assert not (tree / "terraform" / "lease.auto.tfvars.json").exists()


def test_existing_lease_in_error_is_not_reused(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC")
    state.add_lease("matrix-study", "ERROR", {"resource_type": "physical:host"})
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert fake.state.sent("POST", "/v1/leases") == []
    assert proc.returncode == 4 and "is in ERROR" in proc.stderr


def test_no_capacity_names_the_next_free_slot(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    soon, later = now + dt.timedelta(hours=5), now + dt.timedelta(hours=30)
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    state = State(
        region="CHI@TACC",
        refuse_create="Not enough hosts available",
        hosts=[{"id": "1", "node_type": "gpu_a100_pcie"}, {"id": "2", "node_type": "gpu_a100_pcie"},
               {"id": "3", "node_type": "gpu_a100_pcie"}, {"id": "4", "node_type": "gpu_rtx_6000"}],
        allocations=[
            {"resource_id": "1", "reservations": [{"start_date": now.strftime(fmt),
                                                   "end_date": soon.strftime(fmt)}]},
            {"resource_id": "2", "reservations": [{"start_date": now.strftime(fmt),
                                                   "end_date": later.strftime(fmt)}]},
            {"resource_id": "3", "reservations": [{"start_date": now.strftime(fmt),
                                                   "end_date": soon.strftime(fmt)}]},
        ],
    )
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "no capacity" in proc.stderr and "Not enough hosts available" in proc.stderr
    # Hosts 1 and 3 free up at `soon`: two A100 nodes for 24 h from then.
    slot = (soon + dt.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    assert f"next free slot for 24 h starts {slot} UTC" in proc.stderr
    assert f"create --start '{slot}'" in proc.stderr


def test_status_extend_delete(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC")) as fake:
        assert lease_tool(tree, fake, "create", *FAST).returncode == 0
        status = lease_tool(tree, fake, "status")
        assert status.returncode == 0, status.stderr
        assert "ACTIVE" in status.stdout and "time left  23h" in status.stdout
        extend = lease_tool(tree, fake, "extend", "--hours", "24")
        assert extend.returncode == 0, extend.stdout + extend.stderr
        (put,) = fake.state.sent("PUT", "")
        assert set(put.body) == {"end_date"}
        assert "time left  1d 23h" in lease_tool(tree, fake, "status").stdout
        too_long = lease_tool(tree, fake, "extend", "--hours", "200")
        assert too_long.returncode == 1 and "more than" in too_long.stderr
        refused = lease_tool(tree, fake, "delete")  # no --yes, no terminal: refuse
        assert refused.returncode == 1 and "--yes" in refused.stderr
        assert fake.state.leases
        deleted = lease_tool(tree, fake, "delete", "--yes")
        assert deleted.returncode == 0, deleted.stderr
        assert not fake.state.leases
        assert not (tree / "terraform" / "lease.auto.tfvars.json").exists()
        gone = lease_tool(tree, fake, "status")
        assert gone.returncode == 6 and "no lease named matrix-study" in gone.stderr


def test_bad_credential_is_explained(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC")) as fake:
        proc = lease_tool(tree, fake, "status", secret="wrong")
    assert proc.returncode == 1
    assert "authentication failed" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("combo_id", [BAREMETAL, KVM])
def test_dry_run_sends_nothing(matrix_trees, tmp_path, combo_id):
    tree = tree_for(matrix_trees, combo_id, tmp_path / "t")
    region = json.loads((tree / "lease" / "lease.json").read_text())["region"]
    with FakeOpenStack(State(region=region, flavors=[dict(H100_FLAVOR)])) as fake:
        proc = lease_tool(tree, fake, "create", "--dry-run")
        assert proc.returncode == 0, proc.stderr
        assert fake.state.sent("POST", "/v1/leases") == []
    body = json.loads(proc.stdout)
    assert body["name"] == "matrix-study" and len(body["reservations"]) == 1
