"""`python3 -m ops lease` (ops/lease.py) against a stand-in for Chameleon's Keystone and Blazar
(tests/lease/fake_openstack.py).

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

BAREMETAL = "chi-tacc-nvidia-pytorch-minio-n2"  # gpu_h100 x2
KVM = "kvm-tacc-nvidia-pytorch-minio-n1"  # g1.h100.pci.1
H100_FLAVOR = {"id": "c1a7f0e2-h100", "name": "g1.h100.pci.1", "extra_specs": {}}


def tree_for(matrix_trees, combo_id: str, dest: Path) -> Path:
    src = next(p for c, p in matrix_trees.items() if c.id == combo_id)
    shutil.copytree(src, dest)
    return dest


def lease_tool(tree: Path, fake: FakeOpenStack, *args: str, secret: str | None = None,
               timeout: float = 60, clouds: Path | None = None,
               config_file: str | None = "clouds") -> subprocess.CompletedProcess:
    """Run the tool with a clouds.yaml for `fake` at `clouds` (default ./clouds.yaml) and
    OS_CLIENT_CONFIG_FILE pointing at it ("clouds"), at another path, or unset (None)."""
    config = lease_settings(tree)
    clouds = clouds or tree / "clouds.yaml"
    clouds.write_text(fake.clouds_yaml(config["cloud"], **({"secret": secret} if secret else {})))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    # A HOME of its own: no ~/.config/openstack/clouds.yaml of this machine is read.
    env.update(HOME=str(tree / ".home"), OS_AUTH_URL="https://stray.invalid:5000/v3")
    if config_file is not None:
        env["OS_CLIENT_CONFIG_FILE"] = str(clouds) if config_file == "clouds" else config_file
    return subprocess.run([sys.executable, "-m", "ops", "lease", *args], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def lease_settings(tree: Path) -> dict:
    return json.loads((tree / "ops" / "project.json").read_text())["lease"]


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
            "resource_properties": '["==", "$node_type", "gpu_h100"]',
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
        # Blazar's reserved flavor is named by the reservation id (see fake_openstack.reserve_flavor).
        assert lease["reservations"][0]["flavor_id"] == reservation_id
        assert tfvars(tree) == {"reservation_id": reservation_id, "flavor_id": reservation_id}
        flavor_calls = fake.state.sent("GET", "/flavors/detail")
        assert all(c.headers.get("OpenStack-API-Version") == "compute 2.61" for c in flavor_calls)
        # A second `create` reuses that lease: its flavor_id is the reserved flavor, the source
        # flavor (the spec's) is in resource_properties.
        again = lease_tool(tree, fake, "create", *FAST)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "Reusing ACTIVE lease" in again.stdout
        assert len(fake.state.sent("POST", "/v1/leases")) == 1
        assert tfvars(tree) == {"reservation_id": reservation_id, "flavor_id": reservation_id}


M1_LARGE = {"id": "m1l", "name": "m1.large", "vcpus": 4, "ram": 8192, "disk": 40,
            "extra_specs": {}}
KVM_H100 = {"resource_type": "flavor:instance", "flavor_id": H100_FLAVOR["id"], "amount": 1,
            "affinity": None}
H100_X2 = {"resource_type": "physical:host", "min": 2, "max": 2,
           "resource_properties": '["==", "$node_type", "gpu_h100"]'}


def test_existing_active_lease_is_reused(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC")
    other = state.add_lease("someone-else", "ACTIVE", {"resource_type": "physical:host"})
    mine = state.add_lease("matrix-study", "ACTIVE", H100_X2)
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
    pending = state.add_lease("matrix-study", "PENDING", H100_X2)
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert fake.state.sent("POST", "/v1/leases") == []
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "already exists (PENDING); waiting" in proc.stdout
    assert tfvars(tree) == {"reservation_id": pending["reservations"][0]["id"]}


@pytest.mark.parametrize(("reservation", "found"), [
    ({**H100_X2, "min": 1, "max": 1}, "reserves 1 host(s)"),
    ({**H100_X2, "resource_properties": '["==", "$node_type", "gpu_a100"]'},
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
    assert found in proc.stderr and "the spec asks for 2 x gpu_h100" in proc.stderr
    assert "delete --yes" in proc.stderr
    assert not (tree / "terraform" / "lease.auto.tfvars.json").exists()


def test_kvm_lease_with_another_flavor_is_not_reused(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, KVM, tmp_path / "t")
    state = State(region="KVM@TACC", flavors=[dict(H100_FLAVOR), dict(M1_LARGE)])
    state.add_lease("matrix-study", "ACTIVE", {"resource_type": "flavor:instance",
                                               "flavor_id": M1_LARGE["id"], "amount": 1,
                                               "affinity": None})
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert fake.state.sent("POST", "/v1/leases") == []
    assert proc.returncode == 1 and "reserves flavor m1.large" in proc.stderr, proc.stderr
    assert "the spec asks for 1 x g1.h100.pci.1" in proc.stderr


def test_a_teammates_lease_of_the_same_name_is_never_reused_or_deleted(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC")
    theirs = state.add_lease("matrix-study", "ACTIVE", H100_X2, user_id="teammate")
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
        assert "python3 -m ops lease wait" in proc.stdout
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
        hosts=[{"id": "1", "node_type": "gpu_h100"}, {"id": "2", "node_type": "gpu_h100"},
               {"id": "3", "node_type": "gpu_h100"}, {"id": "4", "node_type": "gpu_rtx_6000"}],
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
        assert "extend     possible now" in status.stdout  # 24 h left: inside the 48 h window
        extend = lease_tool(tree, fake, "extend", "--hours", "24")
        assert extend.returncode == 0, extend.stdout + extend.stderr
        (put,) = fake.state.sent("PUT", "")
        assert set(put.body) == {"end_date"}
        dt.datetime.strptime(put.body["end_date"], "%Y-%m-%d %H:%M")
        assert "time left  1d 23h" in lease_tool(tree, fake, "status").stdout
        too_long = lease_tool(tree, fake, "extend", "--hours", "169")
        assert too_long.returncode == 1 and "at most 168 h" in too_long.stderr, too_long.stderr
        assert len(fake.state.sent("PUT", "")) == 1
        refused = lease_tool(tree, fake, "delete")  # no --yes, no terminal: refuse
        assert refused.returncode == 1 and "--yes" in refused.stderr
        assert fake.state.leases
        deleted = lease_tool(tree, fake, "delete", "--yes")
        assert deleted.returncode == 0, deleted.stderr
        assert not fake.state.leases
        assert not (tree / "terraform" / "lease.auto.tfvars.json").exists()
        gone = lease_tool(tree, fake, "status")
        assert gone.returncode == 6 and "no lease named matrix-study" in gone.stderr


def test_status_json_is_what_the_makefile_reads(matrix_trees, tmp_path):
    """`status --json` is one object with the lease's facts; `cached FIELD` reads it back with
    no network (the lease ids `make configure` and `make train` record, `make summary`), and says
    what to do without it."""
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC")) as fake:
        assert lease_tool(tree, fake, "create", *FAST).returncode == 0
        status = lease_tool(tree, fake, "status", "--json")
        assert status.returncode == 0, status.stderr
        facts = json.loads(status.stdout)
        (lease,) = fake.state.leases.values()
        assert facts["lease_id"] == lease["id"] and facts["status"] == "ACTIVE"
        assert facts["reservation_id"] == tfvars(tree)["reservation_id"]
        assert 23 * 3600 < facts["seconds_left"] <= 24 * 3600 and facts["degraded"] is False
        text = lease_tool(tree, fake, "status").stdout.splitlines()
        saved = tree / "terraform" / "lease-status.json"
        # `create` saved the same facts already: what `make lease` leaves for the Makefile.
        assert json.loads(saved.read_text())["reservation_id"] == facts["reservation_id"]
        saved.write_text(status.stdout)
        requests = len(fake.state.requests)
        for field in ("lease_id", "reservation_id", "end"):
            got = lease_tool(tree, fake, "cached", field)
            assert got.returncode == 0 and got.stdout.strip() == str(facts[field]), got.stderr
        summary = lease_tool(tree, fake, "cached").stdout.splitlines()
        assert summary[0] == text[0] and any(line.startswith("time left") for line in summary)
        assert "as of" in summary[-1]
        assert len(fake.state.requests) == requests  # nothing was asked of Blazar
        unknown = lease_tool(tree, fake, "cached", "colour")
        assert unknown.returncode == 1 and "lease_id" in unknown.stderr
        saved.unlink()
        missing = lease_tool(tree, fake, "cached", "lease_id")
        assert missing.returncode == 6 and "make lease" in missing.stderr


def test_bad_credential_is_explained(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC")) as fake:
        proc = lease_tool(tree, fake, "status", secret="wrong")
    assert proc.returncode == 1
    assert "authentication failed" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("combo_id", [BAREMETAL, KVM])
def test_dry_run_sends_nothing(matrix_trees, tmp_path, combo_id):
    tree = tree_for(matrix_trees, combo_id, tmp_path / "t")
    region = lease_settings(tree)["region"]
    with FakeOpenStack(State(region=region, flavors=[dict(H100_FLAVOR)])) as fake:
        proc = lease_tool(tree, fake, "create", "--dry-run")
        assert proc.returncode == 0, proc.stderr
        assert fake.state.sent("POST", "/v1/leases") == []
    body = json.loads(proc.stdout)
    assert body["name"] == "matrix-study" and len(body["reservations"]) == 1


def minute_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, second=0, microsecond=0)


@pytest.mark.parametrize(("left", "hours", "allowed"), [
    (dt.timedelta(hours=48, minutes=5), 1, False),   # the window has not opened yet
    (dt.timedelta(hours=47, minutes=55), 1, True),   # it has
    (dt.timedelta(hours=47, minutes=55), 168, True),  # up to 7 days past the current end
    (dt.timedelta(hours=47, minutes=55), 169, False),
])
def test_extension_follows_chameleons_window_and_limit(matrix_trees, tmp_path, left, hours,
                                                       allowed):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    now = minute_now()
    state = State(region="CHI@TACC")
    lease = state.add_lease("matrix-study", "ACTIVE", H100_X2, start=now - dt.timedelta(days=5),
                            end=now + left)
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "extend", "--hours", str(hours))
        puts = fake.state.sent("PUT", "")
    end = now + left
    if allowed:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (put,) = puts
        assert put.body == {"end_date": (end + dt.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")}
        assert lease["end_date"].startswith((end + dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"))
    else:
        assert proc.returncode == 1 and puts == [], proc.stdout + proc.stderr
        if hours == 1:
            opens = (end - dt.timedelta(hours=48)).strftime("%Y-%m-%d %H:%M")
            assert f"extending becomes possible from {opens} UTC" in proc.stderr, proc.stderr
        else:
            assert "at most 168 h" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_kvm_lease_is_never_extended(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, KVM, tmp_path / "t")
    state = State(region="KVM@TACC", flavors=[dict(H100_FLAVOR)])
    lease = state.add_lease("matrix-study", "ACTIVE", KVM_H100)
    with FakeOpenStack(state) as fake:
        status = lease_tool(tree, fake, "status")
        proc = lease_tool(tree, fake, "extend", "--hours", "2")
        assert fake.state.sent("PUT", "") == []
    assert "extend     not possible on KVM" in status.stdout, status.stdout
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "cannot change such a lease" in proc.stderr and "new lease" in proc.stderr
    assert lease["status"] == "ACTIVE"  # a refused update would have left it in ERROR


def test_a_creating_lease_is_waited_for(matrix_trees, tmp_path):
    """CREATING is Blazar's first status (blazar/status.py), not an ended lease."""
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC")
    creating = state.add_lease("matrix-study", "CREATING", H100_X2)
    with FakeOpenStack(state) as fake:
        proc = lease_tool(tree, fake, "create", "--timeout", "0.3", "--interval", "0.05")
        assert fake.state.sent("POST", "/v1/leases") == []
        assert "already exists (CREATING); waiting" in proc.stdout, proc.stdout + proc.stderr
        assert proc.returncode == 3 and "still CREATING" in proc.stderr
        creating["status"] = "PENDING"
        done = lease_tool(tree, fake, "wait", *FAST)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "STARTING" in done.stdout  # every status on the way is shown


def test_a_degraded_lease_is_reported(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    state = State(region="CHI@TACC")
    lease = state.add_lease("matrix-study", "ACTIVE", H100_X2)
    lease["degraded"] = True
    lease["reservations"][0]["missing_resources"] = True
    with FakeOpenStack(state) as fake:
        status = lease_tool(tree, fake, "status")
        reuse = lease_tool(tree, fake, "create", *FAST)
    assert status.returncode == 0, status.stderr
    rid = lease["reservations"][0]["id"]
    assert f"degraded   yes: reservation {rid} lost a host and has no replacement" in status.stdout
    assert reuse.returncode == 0 and "is degraded" in reuse.stderr and "make status" in reuse.stderr


@pytest.mark.parametrize("form", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ",
                                  "%Y-%m-%d %H:%M"])
def test_start_is_sent_in_blazars_format(matrix_trees, tmp_path, form):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    later = minute_now() + dt.timedelta(days=2)
    with FakeOpenStack(State(region="CHI@TACC", activate_after=None)) as fake:
        proc = lease_tool(tree, fake, "create", "--start", later.strftime(form), "--no-wait")
        (post,) = fake.state.sent("POST", "/v1/leases")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the stand-in takes only that format
    assert post.body["start_date"] == later.strftime("%Y-%m-%d %H:%M")
    assert post.body["end_date"] == (later + dt.timedelta(hours=24)).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(("start", "message"), [
    ("tomorrow", "is not a date"),
    ("2026-13-01 10:00", "is not a date"),
    ("2020-01-01 10:00", "is in the past"),
])
def test_a_bad_start_is_refused_before_anything_is_sent(matrix_trees, tmp_path, start, message):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    with FakeOpenStack(State(region="CHI@TACC")) as fake:
        proc = lease_tool(tree, fake, "create", "--start", start, *FAST)
        assert fake.state.sent("POST", "/v1/leases") == []
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_nova_error_is_a_message_not_a_traceback(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, KVM, tmp_path / "t")
    with FakeOpenStack(State(region="KVM@TACC", flavors=[dict(H100_FLAVOR)],
                             nova_error=503)) as fake:
        proc = lease_tool(tree, fake, "create", *FAST)
        assert fake.state.sent("POST", "/v1/leases") == []
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "compute (Nova) answered HTTP 503" in proc.stderr and "Traceback" not in proc.stderr


def test_clouds_yaml_is_found_where_terraform_finds_it(matrix_trees, tmp_path):
    """OS_CLIENT_CONFIG_FILE (what the Makefile exports for Terraform) is honoured, and wins over
    ./clouds.yaml, as for Terraform; a path that is not a file is named."""
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    elsewhere = tmp_path / "creds" / "clouds.yaml"
    elsewhere.parent.mkdir()
    with FakeOpenStack(State(region="CHI@TACC")) as fake:
        found = lease_tool(tree, fake, "create", *FAST, clouds=elsewhere)
        assert found.returncode == 0, found.stdout + found.stderr
        unset = lease_tool(tree, fake, "status", clouds=elsewhere, config_file=None)
        assert unset.returncode == 1 and "clouds.yaml has no usable entry" in unset.stderr
        # ./clouds.yaml holds a wrong secret: the file the variable names is the one used.
        lease_tool(tree, fake, "status", secret="wrong")
        first = lease_tool(tree, fake, "status", clouds=elsewhere)
        assert first.returncode == 0, first.stderr
        missing = lease_tool(tree, fake, "status", config_file=str(tmp_path / "nope.yaml"))
        assert missing.returncode == 1 and "nope.yaml, which is not a file" in missing.stderr
        assert "no usable entry" not in missing.stderr
