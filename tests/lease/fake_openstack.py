"""A stand-in for Chameleon's Keystone v3, Blazar and Nova HTTP APIs, on 127.0.0.1.

The real services cannot be reached from the test machine. This server speaks just enough of
them, over real HTTP, for lease/lease.py and its pinned client libraries (keystoneauth1,
openstacksdk's clouds.yaml loader, python-blazarclient) to run unmodified against a clouds.yaml
that points here: application-credential token issue with a service catalog, Blazar's /v1/leases,
/v1/os-hosts and /v1/os-hosts/allocations, and Nova's flavor listing. Every request is recorded so
tests can assert what the tool sent.
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
    refuse_create: str | None = None  # an error message Blazar returns with 409
    hosts: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    flavors: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)

    def sent(self, method: str, suffix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    def add_lease(self, name: str, status: str, reservation: dict[str, Any],
                  user_id: str = USER_ID) -> dict[str, Any]:
        lease_id = str(uuid.uuid4())
        now = dt.datetime.utcnow().replace(microsecond=0)
        lease = {
            "id": lease_id, "name": name, "status": status, "user_id": user_id, "project_id": "p1",
            "start_date": now.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "end_date": (now + dt.timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "reservations": [{**reservation, "id": str(uuid.uuid4()), "lease_id": lease_id,
                              "status": "active" if status == "ACTIVE" else "pending"}],
            "events": [],
        }
        self.leases[lease_id] = lease
        if status == "ACTIVE":
            self.activate(lease)
        return lease

    def activate(self, lease: dict[str, Any]) -> None:
        """What Blazar does at lease start on KVM: a private flavor tied to the reservation."""
        for r in lease["reservations"]:
            if r["resource_type"] == "flavor:instance":
                self.flavors.append({"id": f"flavor-{r['id']}", "name": f"reservation:{r['id']}",
                                     "extra_specs": {RESERVATION_SPEC: r["id"]}})


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
                if state.refuse_create:
                    return self._reply(409, {"error_code": 409, "error_message": state.refuse_create})
                lease = state.add_lease(body["name"], "PENDING", body["reservations"][0])
                lease["end_date"] = body["end_date"].replace(" ", "T") + ":00.000000"
                return self._reply(201, {"lease": lease})
            if path == "/v1/os-hosts" and method == "GET":
                return self._reply(200, {"hosts": state.hosts})
            if path == "/v1/os-hosts/allocations" and method == "GET":
                return self._reply(200, {"allocations": state.allocations})
            if path.startswith("/v1/leases/"):
                lease = state.leases.get(path.rsplit("/", 1)[1])
                if lease is None:
                    return self._reply(404, {"error_code": 404, "error_message": "lease not found"})
                if method == "GET":
                    polls = state.polls[lease["id"]] = state.polls.get(lease["id"], 0) + 1
                    if (lease["status"] == "PENDING" and state.activate_after is not None
                            and polls > state.activate_after):
                        lease["status"] = state.final_status
                        for r in lease["reservations"]:
                            r["status"] = "active" if state.final_status == "ACTIVE" else "error"
                        if state.final_status == "ACTIVE":
                            state.activate(lease)
                    return self._reply(200, {"lease": lease})
                if method == "PUT":
                    if "end_date" in body:
                        lease["end_date"] = body["end_date"].replace(" ", "T") + ":00.000000"
                    return self._reply(200, {"lease": lease})
                if method == "DELETE":
                    del state.leases[lease["id"]]
                    return self._reply(204)
            return self._reply(404, {"error_code": 404, "error_message": f"no route {path}"})

        # -- Nova v2.1: flavors only.
        def _nova(self, method, path):
            if method == "GET" and path == "/v2.1/flavors/detail":
                return self._reply(200, {"flavors": state.flavors})
            return self._reply(404, {"itemNotFound": {"code": 404, "message": "not found"}})

    return Handler
