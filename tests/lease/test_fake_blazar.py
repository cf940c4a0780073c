"""The stand-in decides as Blazar's code does (tests/lease/fake_openstack.py cites each rule):
lease statuses and fields, date formats, reserved flavors, the refusal to update flavor:instance
leases and Chameleon's extension window, each boundary from both sides, over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest

from . import fake_openstack as fo
from .fake_openstack import FakeOpenStack, State

H100 = {"id": "h100", "name": "g1.h100.pci.1", "vcpus": 16, "ram": 65536, "disk": 100,
        "extra_specs": {"pci_passthrough:alias": "h100:1"}}
HOSTS = {"resource_type": "physical:host", "min": 1, "max": 1, "hypervisor_properties": "",
         "resource_properties": '["==", "$node_type", "gpu_h100"]'}
FLAVOR = {"resource_type": "flavor:instance", "flavor_id": "h100", "amount": 1, "affinity": None}
FMT = "%Y-%m-%d %H:%M"


def now_minute() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, second=0, microsecond=0)


def call(fake: FakeOpenStack, method: str, path: str, body=None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{fake.url}{path}", data=data, method=method, headers={
        "X-Auth-Token": fo.TOKEN, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def create(fake, reservation=HOSTS, start="now", end=None):
    end = end or (now_minute() + dt.timedelta(hours=24)).strftime(FMT)
    return call(fake, "POST", "/reservation/v1/leases", {
        "name": "x", "start_date": start, "end_date": end, "reservations": [dict(reservation)],
        "events": []})


def test_a_new_lease_is_pending_with_blazars_fields():
    with FakeOpenStack(State(flavors=[dict(H100)])) as fake:
        code, body = create(fake)
    assert code == 201
    lease = body["lease"]
    assert lease["status"] == "PENDING" and lease["degraded"] is False
    assert not {"status_reason", "degraded_reason"} & set(lease)
    assert set(fo.LEASE_STATUSES) == {"PENDING", "ACTIVE", "TERMINATED", "ERROR", "CREATING",
                                   "STARTING", "UPDATING", "TERMINATING", "DELETING"}


@pytest.mark.parametrize(("start", "code"), [
    ("now", 201),
    ("{later:%Y-%m-%d %H:%M}", 201),
    ("{later:%Y-%m-%dT%H:%M}", 400),
    ("{later:%Y-%m-%d %H:%M:%S}", 400),
    ("{past:%Y-%m-%d %H:%M}", 400),
])
def test_dates_are_taken_only_in_blazars_format(start, code):
    later, past = now_minute() + dt.timedelta(hours=1), now_minute() - dt.timedelta(minutes=1)
    start = start.format(later=later, past=past)
    with FakeOpenStack(State()) as fake:
        got, body = create(fake, start=start, end=(later + dt.timedelta(hours=2)).strftime(FMT))
    assert got == code, body
    if code == 400:
        assert set(body) == {"error_code", "error_message", "error_name"}
        assert ("Required format: %Y-%m-%d %H:%M" in body["error_message"]
                or "later than current date" in body["error_message"])


@pytest.mark.parametrize(("hours", "code"), [(168, 201), (169, 403)])
def test_create_is_limited_to_seven_days(hours, code):
    start = now_minute() + dt.timedelta(minutes=5)
    with FakeOpenStack(State()) as fake:
        got, body = create(fake, start=start.strftime(FMT),
                           end=(start + dt.timedelta(hours=hours)).strftime(FMT))
    assert got == code, body


def test_the_reserved_flavor_is_named_by_the_reservation_and_shown_once_the_lease_starts():
    state = State(flavors=[dict(H100)], activate_after=0)
    with FakeOpenStack(state) as fake:
        code, body = create(fake, FLAVOR)
        assert code == 201, body
        (r,) = body["lease"]["reservations"]
        assert r["flavor_id"] == r["id"]
        source = json.loads(r["resource_properties"])
        assert source["id"] == "h100" and source["name"] == "g1.h100.pci.1"
        listed = call(fake, "GET", "/compute/v2.1/flavors/detail")[1]["flavors"]
        assert [f["id"] for f in listed] == ["h100"]  # private until the lease starts
        lease_id = body["lease"]["id"]
        statuses = [call(fake, "GET", f"/reservation/v1/leases/{lease_id}")[1]["lease"]["status"]
                    for _ in range(2)]
        assert statuses == ["STARTING", "ACTIVE"]
        listed = call(fake, "GET", "/compute/v2.1/flavors/detail")[1]["flavors"]
        reserved = next(f for f in listed if f["id"] == r["id"])
        assert reserved["name"] == f"reservation:{r['id']}"
        assert reserved["extra_specs"][fo.RESERVATION_SPEC] == r["id"]


def test_a_flavor_instance_lease_cannot_be_updated_and_goes_to_error():
    state = State(flavors=[dict(H100)])
    lease = state.add_lease("x", "ACTIVE", FLAVOR)
    end = (dt.datetime.strptime(lease["end_date"], "%Y-%m-%dT%H:%M:%S.%f")
           + dt.timedelta(hours=1)).strftime(FMT)
    with FakeOpenStack(state) as fake:
        code, body = call(fake, "PUT", f"/reservation/v1/leases/{lease['id']}", {"end_date": end})
    assert code == 409
    assert body == {"error_code": 409, "error_name": 409, "error_message":
                    "Updating leases for 'flavor:instance' type reservations is not yet supported."}
    assert lease["status"] == "ERROR"


@pytest.mark.parametrize(("left", "added", "code", "message"), [
    (dt.timedelta(hours=48, minutes=2), dt.timedelta(hours=1), 400, "within 172800 seconds"),
    (dt.timedelta(hours=47, minutes=58), dt.timedelta(hours=1), 200, None),
    (dt.timedelta(hours=47, minutes=58), dt.timedelta(seconds=fo.MAX_LEASE_DURATION), 200, None),
    (dt.timedelta(hours=47, minutes=58), dt.timedelta(seconds=fo.MAX_LEASE_DURATION, minutes=1), 400,
     "maximum lease duration of 604800 seconds"),
])
def test_extension_window_and_limit(left, added, code, message):
    now = now_minute()
    state = State()
    lease = state.add_lease("x", "ACTIVE", HOSTS, start=now - dt.timedelta(days=6), end=now + left)
    before = dict(lease)
    with FakeOpenStack(state) as fake:
        got, body = call(fake, "PUT", f"/reservation/v1/leases/{lease['id']}",
                         {"end_date": (now + left + added).strftime(FMT)})
    assert got == code, body
    assert lease["status"] == "ACTIVE"  # these refusals are non-fatal
    if message:
        assert message in body["error_message"]
        assert lease["end_date"] == before["end_date"]
    else:
        assert lease["end_date"] == (now + left + added).strftime("%Y-%m-%dT%H:%M:%S.%f")


def test_an_update_needs_blazars_date_format():
    state = State()
    lease = state.add_lease("x", "ACTIVE", HOSTS)
    with FakeOpenStack(state) as fake:
        code, body = call(fake, "PUT", f"/reservation/v1/leases/{lease['id']}",
                          {"end_date": "2099-01-01T10:00"})
    assert code == 400 and "invalid date" in body["error_message"]
    assert lease["status"] == "ACTIVE"
