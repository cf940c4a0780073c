"""A stand-in for Chameleon's Keystone v3, Blazar and Nova HTTP APIs, on 127.0.0.1.

The real services cannot be reached from the test machine. This server speaks just enough of
them, over real HTTP, for lease/lease.py and its pinned client libraries (keystoneauth1,
openstacksdk's clouds.yaml loader, python-blazarclient) to run unmodified against a clouds.yaml
that points here: application-credential token issue with a service catalog, Blazar's /v1/leases,
/v1/os-hosts and /v1/os-hosts/allocations, and Nova's flavor listing. Every request is recorded so
tests can assert what the tool sent.

What Blazar decides is modelled on its code, cited next to each behaviour as repository, path and
commit: BLAZAR is openstack/blazar, CHAMELEON_BLAZAR Chameleon's fork (its enforcement filters).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

APP_CRED_ID = "app-cred-id"
APP_CRED_SECRET = "app-cred-secret"  # a test value, not a credential
TOKEN = "gAAAAA-stand-in-token"
# The user the application credential belongs to (leases record their owner).
USER_ID = "u1"
RESERVATION_SPEC = "aggregate_instance_extra_specs:reservation"

BLAZAR = "openstack/blazar@acc44dc9792c34d5a3bf8feb6b3c27ccffbba2db"
CHAMELEON_BLAZAR = "ChameleonCloud/blazar@bbd20e846740e3c4547be351996820d3f2330976"
# BLAZAR blazar/manager/service.py: LEASE_DATE_FORMAT, the only format _date_from_string takes.
LEASE_DATE_FORMAT = "%Y-%m-%d %H:%M"
# How the API renders datetimes (oslo.serialization's jsonutils.to_primitive).
API_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
# BLAZAR blazar/status.py, LeaseStatus.STABLE + TRANSITIONAL (there is no DELETED lease status).
LEASE_STATUSES = ("PENDING", "ACTIVE", "TERMINATED", "ERROR",
                  "CREATING", "STARTING", "UPDATING", "TERMINATING", "DELETING")
# BLAZAR blazar/status.py, LeaseStatus.NEXT_STATUSES: where UPDATING may start from.
UPDATABLE = ("PENDING", "ACTIVE", "TERMINATED", "ERROR")
# CHAMELEON_BLAZAR blazar/enforcement/filters/max_lease_duration_filter.py options, with the
# values Chameleon runs (ChameleonCloud/docs@50021b6df897d350e32cc3b9d57e1de2a3c837fa
# source/technical/reservations/gui_reservations.rst: 7 days, extension within 48 hours).
MAX_LEASE_DURATION = 7 * 24 * 3600
RESERVATION_EXTENSION_WINDOW = 48 * 3600


class BlazarError(Exception):
    """An error the API renders as {"error_code", "error_message", "error_name"} with that HTTP
    status (BLAZAR blazar/api/v1/utils.py, render_error_message; the code is the exception's)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def api_date(value: dt.datetime) -> str:
    return value.strftime(API_DATE_FORMAT)


def from_api(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, API_DATE_FORMAT)


def parse_lease_dates(start: str, end: str) -> tuple[dt.datetime, dt.datetime, dt.datetime]:
    """BLAZAR blazar/manager/service.py, _parse_lease_dates and _date_from_string: 'now' or
    exactly LEASE_DATE_FORMAT, else InvalidDate (400); `now` is truncated to the minute."""
    now = utcnow().replace(second=0, microsecond=0)

    def one(value: str) -> dt.datetime:
        if value == "now":
            return now
        try:
            return dt.datetime.strptime(value, LEASE_DATE_FORMAT)
        except (TypeError, ValueError):
            raise BlazarError(400, f"{value} is an invalid date. Required format: "
                                   f"{LEASE_DATE_FORMAT}") from None
    return one(start), one(end), now


@dataclass
class Request:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class State:
    region: str = "CHI@UC"
    leases: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Number of GETs of a new lease before it leaves PENDING; None: it never does.
    activate_after: int | None = 1
    final_status: str = "ACTIVE"
    # An error message Blazar returns for a create. NotEnoughHostsAvailable keeps
    # BlazarException's default code 500 (BLAZAR blazar/manager/exceptions.py, blazar/exceptions.py).
    refuse_create: str | None = None
    refuse_create_code: int = 500
    # An HTTP status Nova answers its flavor listing with (None: it answers).
    nova_error: int | None = None
    hosts: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    flavors: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)

    def sent(self, method: str, suffix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    # Reserved (private) flavor id -> projects given access to it.
    flavor_access: dict[str, set[str]] = field(default_factory=dict)

    def add_lease(self, name: str, status: str, reservation: dict[str, Any],
                  user_id: str = USER_ID, start: dt.datetime | None = None,
                  end: dt.datetime | None = None) -> dict[str, Any]:
        """A lease as Blazar stores and renders it (BLAZAR blazar/db/sqlalchemy/models.py,
        Lease and Reservation.to_dict): a boolean `degraded`, no status reason."""
        assert status in LEASE_STATUSES, status
        lease_id = str(uuid.uuid4())
        now = utcnow().replace(second=0, microsecond=0)
        start = start or now
        end = end or start + dt.timedelta(hours=24)
        lease = {
            "id": lease_id, "name": name, "status": status, "degraded": False,
            "user_id": user_id, "project_id": "p1", "trust_id": str(uuid.uuid4()),
            "start_date": api_date(start), "end_date": api_date(end),
            "created_at": api_date(now), "updated_at": None,
            "reservations": [],
            "events": [{"event_type": t, "time": api_date(w), "status": "UNDONE"}
                       for t, w in (("start_lease", start), ("end_lease", end))],
        }
        lease["reservations"].append(self.reserve(lease, reservation))
        self.leases[lease_id] = lease
        if status == "ACTIVE":
            self.activate(lease)
        return lease

    def reserve(self, lease: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        reservation_id = str(uuid.uuid4())
        r = {"id": reservation_id, "lease_id": lease["id"], "resource_id": str(uuid.uuid4()),
             "resource_type": values.get("resource_type"), "status": "pending",
             "missing_resources": False, "resources_changed": False}
        if r["resource_type"] == "flavor:instance":
            r.update(self.reserve_flavor(reservation_id, values))
        else:
            r.update({k: v for k, v in values.items() if k != "resource_type"})
        return r

    def reserve_flavor(self, reservation_id: str, values: dict[str, Any]) -> dict[str, Any]:
        """BLAZAR blazar/plugins/flavor/flavor_plugin.py: _pick_hosts refuses affinity
        (NotImplemented, 409); reserve_resource keeps the source flavor as JSON in
        resource_properties; _create_flavor makes a private flavor whose id IS the reservation
        id, named reservation:<id>, with the source's extra specs plus the reservation's; the
        reservation then reports that flavor as its flavor_id (models.py Reservation.to_dict)."""
        if values.get("affinity") is not None:
            raise BlazarError(409, "Affinity not supported yet")
        wanted = values.get("flavor_id")
        source = next((dict(f) for f in self.flavors if f.get("id") == wanted), None)
        if source is None:  # novaclient's NotFound comes back as blazar.exceptions.NotFound
            raise BlazarError(404, f"Flavor {wanted} could not be found. (HTTP 404)")
        source.pop("links", None)
        source.setdefault("extra_specs", {})
        source.setdefault("OS-FLV-EXT-DATA:ephemeral", 0)
        specs = {**source["extra_specs"], RESERVATION_SPEC: reservation_id,
                 f"resources:CUSTOM_RESERVATION_{reservation_id.upper().replace('-', '_')}": "1"}
        self.flavors.append({"id": reservation_id, "name": f"reservation:{reservation_id}",
                             "vcpus": source.get("vcpus"), "ram": source.get("ram"),
                             "disk": source.get("disk"), "os-flavor-access:is_public": False,
                             "extra_specs": specs})
        self.flavor_access[reservation_id] = set()
        return {"vcpus": source.get("vcpus"), "memory_mb": source.get("ram"),
                "disk_gb": source.get("disk"), "amount": values.get("amount"), "affinity": None,
                "flavor_id": reservation_id, "aggregate_id": 1, "server_group_id": None,
                "resource_properties": json.dumps(source)}

    def activate(self, lease: dict[str, Any]) -> None:
        """At lease start Blazar gives the project access to the reserved flavor (BLAZAR
        blazar/plugins/instances/instance_plugin.py, on_start: add_tenant_access)."""
        for r in lease["reservations"]:
            r["status"] = "active"
            if r["resource_type"] == "flavor:instance":
                self.flavor_access.setdefault(r["flavor_id"], set()).add(lease["project_id"])

    def visible_flavors(self, project_id: str = "p1") -> list[dict[str, Any]]:
        """Nova lists public flavors and the private ones the project was given access to."""
        return [f for f in self.flavors if f.get("os-flavor-access:is_public", True)
                or project_id in self.flavor_access.get(f["id"], set())]

    # -- what Blazar's manager does with a lease

    def create_lease(self, body: dict[str, Any]) -> dict[str, Any]:
        """BLAZAR blazar/manager/service.py, create_lease: dates parsed as LEASE_DATE_FORMAT,
        refused before the current minute or when not after the start (InvalidInput, 400);
        Chameleon's max_lease_duration_filter check_create refuses more than
        MAX_LEASE_DURATION, re-raised by create_lease as NotAuthorized (403). Status: CREATING
        while the reservations are made, PENDING once done."""
        missing = {"name", "start_date", "end_date"} - set(body)
        if missing:
            raise BlazarError(400, f"Missing parameter {', '.join(sorted(missing))}")
        start, end, now = parse_lease_dates(body["start_date"], body["end_date"])
        if start < now:
            raise BlazarError(400, "Start date must be later than current date")
        if end <= start:
            raise BlazarError(400, "End date must be later than start date.")
        duration = int((end - start).total_seconds())
        if duration > MAX_LEASE_DURATION:
            raise BlazarError(403, f"Lease duration of {duration} seconds must be less than or"
                                   " equal to the maximum lease duration of"
                                   f" {MAX_LEASE_DURATION} seconds.")
        if self.refuse_create:
            raise BlazarError(self.refuse_create_code, self.refuse_create)
        lease = self.add_lease(body["name"], "CREATING", body["reservations"][0], start=start,
                               end=end)
        lease["status"] = "PENDING"
        return lease

    def update_lease(self, lease: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """BLAZAR blazar/status.py lease_status(UPDATING) around blazar/manager/service.py
        update_lease, with CHAMELEON_BLAZAR's enforcement filter."""
        if lease["status"] not in UPDATABLE:  # is_valid_transition fails: InvalidStatus (500)
            raise BlazarError(500, "Invalid lease status.")
        if not values or set(values) == {"name"}:
            lease.update(values)
            return lease
        # _handle_resource_type_exception: NotImplemented (409), not among update_lease's
        # non_fatal_exceptions, so lease_status leaves the lease in ERROR.
        if any(r["resource_type"] == "flavor:instance" for r in lease["reservations"]):
            lease["status"] = "ERROR"
            raise BlazarError(409, "Updating leases for 'flavor:instance' type reservations is"
                                   " not yet supported.")
        current = {"start_date": from_api(lease["start_date"]),
                   "end_date": from_api(lease["end_date"])}
        start, end, now = parse_lease_dates(
            values.get("start_date", current["start_date"].strftime(LEASE_DATE_FORMAT)),
            values.get("end_date", current["end_date"].strftime(LEASE_DATE_FORMAT)))
        # The errors below are non-fatal: the lease keeps its status.
        self.check_date_inputs(current, start, end, now)
        self.check_update(current, start, end)
        lease["start_date"], lease["end_date"] = api_date(start), api_date(end)
        for event in lease["events"]:
            event["time"] = api_date(start if event["event_type"] == "start_lease" else end)
        lease["updated_at"] = api_date(utcnow())
        return lease

    @staticmethod
    def check_date_inputs(current: dict[str, dt.datetime], start: dt.datetime, end: dt.datetime,
                          now: dt.datetime) -> None:
        """BLAZAR blazar/manager/service.py, _check_for_invalid_date_inputs (InvalidInput, 400)."""
        if current["start_date"] < now and start != current["start_date"]:
            raise BlazarError(400, "Cannot modify the start date of already started leases")
        if current["start_date"] > now and start < now:
            raise BlazarError(400, "Start date must be later than current date")
        if current["end_date"] < now:
            raise BlazarError(400, "Terminated leases can only be renamed")
        if end < now or end < start:
            raise BlazarError(400, "End date must be later than current and start date")

    @staticmethod
    def check_update(current: dict[str, dt.datetime], start: dt.datetime,
                     end: dt.datetime) -> None:
        """CHAMELEON_BLAZAR blazar/enforcement/filters/max_lease_duration_filter.py, check_update,
        with the reservation_extension_window set: no check unless the lease gets longer;
        refused (MaxLeaseUpdateWindowException, 400) before end - window; else the span from the
        CURRENT end date to the new one must not exceed max_lease_duration
        (MaxLeaseDurationException, 400). Both messages: blazar/enforcement/exceptions.py."""
        if current["end_date"] >= end and current["start_date"] >= start:
            return
        min_window = current["end_date"] - dt.timedelta(seconds=RESERVATION_EXTENSION_WINDOW)
        if utcnow() < min_window:
            raise BlazarError(400, "Lease can only be extended within"
                                   f" {RESERVATION_EXTENSION_WINDOW} seconds of the leases"
                                   " current end time.")
        duration = (end - current["end_date"]).total_seconds()
        if duration > MAX_LEASE_DURATION:
            raise BlazarError(400, f"Lease duration of {int(duration)} seconds must be less than"
                                   " or equal to the maximum lease duration of"
                                   f" {MAX_LEASE_DURATION} seconds.")

    def poll(self, lease: dict[str, Any]) -> None:
        """Blazar's start_lease event, in steps a test can watch: PENDING, then STARTING, then
        final_status (BLAZAR blazar/status.py: PENDING -> STARTING -> ACTIVE or ERROR)."""
        polls = self.polls[lease["id"]] = self.polls.get(lease["id"], 0) + 1
        if self.activate_after is None:
            return
        if lease["status"] == "PENDING" and polls > self.activate_after:
            lease["status"] = "STARTING"
        elif lease["status"] == "STARTING":
            lease["status"] = self.final_status
            if self.final_status == "ACTIVE":
                self.activate(lease)
            else:
                for r in lease["reservations"]:
                    r["status"] = "error"


class FakeOpenStack:
    def __init__(self, state: State | None = None) -> None:
        self.state = state or State()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeOpenStack:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def clouds_yaml(self, cloud: str, secret: str = APP_CRED_SECRET) -> str:
        return json.dumps({"clouds": {cloud: {
            "auth_type": "v3applicationcredential",
            "auth": {"auth_url": f"{self.url}/identity/v3",
                     "application_credential_id": APP_CRED_ID,
                     "application_credential_secret": secret},
            "region_name": self.state.region,
            "interface": "public",
            "identity_api_version": 3,
        }}})  # JSON is YAML

    def catalog(self) -> list[dict[str, Any]]:
        def entry(type_: str, url: str) -> dict[str, Any]:
            return {"type": type_, "id": type_, "name": type_, "endpoints": [
                {"id": f"{type_}-public", "interface": "public", "region": self.state.region,
                 "region_id": self.state.region, "url": url}]}
        return [entry("identity", f"{self.url}/identity/v3"),
                entry("reservation", f"{self.url}/reservation/v1"),
                entry("compute", f"{self.url}/compute/v2.1")]


def _handler(fake: FakeOpenStack):
    state = fake.state

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _reply(self, code: int, body: Any = None, headers: dict[str, str] | None = None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            path = self.path.split("?")[0].rstrip("/")
            state.requests.append(Request(method, path, body, dict(self.headers)))
            if path.startswith("/identity"):
                return self._identity(method, path, body)
            if self.headers.get("X-Auth-Token") != TOKEN:
                return self._reply(401, {"error": {"code": 401, "message": "no token"}})
            if path.startswith("/reservation"):
                return self._blazar(method, path.removeprefix("/reservation"), body)
            if path.startswith("/compute"):
                return self._nova(method, path.removeprefix("/compute"))
            return self._reply(404, {"error": "not found"})

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_PUT(self):
            self._handle("PUT")

        def do_DELETE(self):
            self._handle("DELETE")

        # -- Keystone v3: application credentials only, as Chameleon's CLI access needs.
        def _identity(self, method, path, body):
            if method == "POST" and path == "/identity/v3/auth/tokens":
                ident = (body or {}).get("auth", {}).get("identity", {})
                cred = ident.get("application_credential", {})
                if ident.get("methods") != ["application_credential"] or (
                        cred.get("id"), cred.get("secret")) != (APP_CRED_ID, APP_CRED_SECRET):
                    return self._reply(401, {"error": {"code": 401, "message": "bad credential"}})
                token = {"methods": ["application_credential"],
                         "expires_at": "2099-01-01T00:00:00.000000Z",
                         "issued_at": "2025-01-01T00:00:00.000000Z",
                         "user": {"id": USER_ID, "name": "researcher",
                                  "domain": {"id": "default", "name": "Default"}},
                         "project": {"id": "p1", "name": "CHI-000000",
                                     "domain": {"id": "default", "name": "Default"}},
                         "roles": [{"id": "r1", "name": "member"}],
                         "application_credential": {"id": APP_CRED_ID, "name": "repro",
                                                    "restricted": False},
                         "catalog": fake.catalog()}
                return self._reply(201, {"token": token}, {"X-Subject-Token": TOKEN})
            if method == "GET" and path in ("/identity/v3", "/identity"):
                return self._reply(200, {"version": {"id": "v3.14", "status": "stable", "links": [
                    {"rel": "self", "href": f"{fake.url}/identity/v3/"}]}})
            return self._reply(404, {"error": "not found"})

        # -- Blazar v1
        def _blazar(self, method, path, body):
            if path in ("", "/v1") and method == "GET":
                return self._reply(200, {"versions": [{"id": "v1.0", "status": "CURRENT", "links": [
                    {"rel": "self", "href": f"{fake.url}/reservation/v1/"}]}]})
            if path == "/v1/leases" and method == "GET":
                return self._reply(200, {"leases": list(state.leases.values())})
            if path == "/v1/leases" and method == "POST":
                return self._blazar_call(201, state.create_lease, body)
            if path == "/v1/os-hosts" and method == "GET":
                return self._reply(200, {"hosts": state.hosts})
            if path == "/v1/os-hosts/allocations" and method == "GET":
                return self._reply(200, {"allocations": state.allocations})
            if path.startswith("/v1/leases/"):
                lease = state.leases.get(path.rsplit("/", 1)[1])
                if lease is None:
                    return self._reply(404, {"error_code": 404, "error_message": "lease not found"})
                if method == "GET":
                    state.poll(lease)
                    return self._reply(200, {"lease": lease})
                if method == "PUT":
                    return self._blazar_call(200, state.update_lease, lease, body or {})
                if method == "DELETE":
                    del state.leases[lease["id"]]
                    return self._reply(204)
            return self._reply(404, {"error_code": 404, "error_message": f"no route {path}"})

        def _blazar_call(self, code: int, fn, *args):
            try:
                return self._reply(code, {"lease": fn(*args)})
            except BlazarError as exc:
                return self._reply(exc.code, {"error_code": exc.code, "error_message": str(exc),
                                              "error_name": exc.code})

        # -- Nova v2.1: flavors only.
        def _nova(self, method, path):
            if state.nova_error:
                return self._reply(state.nova_error, {"computeFault": {
                    "code": state.nova_error, "message": "Nova is unavailable"}})
            if method == "GET" and path == "/v2.1/flavors/detail":
                return self._reply(200, {"flavors": state.visible_flavors()})
            return self._reply(404, {"itemNotFound": {"code": 404, "message": "not found"}})

    return Handler
