"""Blazar lease lifecycle for this project: create, wait, status, extend, delete.

Terraform cannot create Chameleon leases, so this command does it and hands Terraform the
reservation id (and on KVM@TACC the reserved flavor id) in terraform/lease.auto.tfvars.json.

    python3 -m ops lease create          # reuse or create the lease, wait for ACTIVE (`make lease`)
    python3 -m ops lease status          # state and time left
    python3 -m ops lease extend --hours 24   # bare metal, in the last 48 h of the lease
    python3 -m ops lease delete --yes    # the nodes go with it

Settings come from ops/project.json ("lease", rendered from the spec); credentials come from
clouds.yaml (the entry named there, or --cloud), never from this repository.
Requirements: ops/requirements.txt (`make tools` installs them into .venv).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import settings
from .steps import OpsError, command

ROOT = settings.ROOT
# Where `lease create` saves `status --json` (ignored by git; read back with `cached`).
STATUS_FILE = ROOT / settings.LEASE_STATUS

# The only date format Blazar accepts, in UTC (openstack/blazar blazar/manager/service.py,
# LEASE_DATE_FORMAT and _date_from_string; commit acc44dc9792c34d5a3bf8feb6b3c27ccffbba2db).
BLAZAR_TIME = "%Y-%m-%d %H:%M"
# Lease statuses: openstack/blazar blazar/status.py, LeaseStatus (same commit). Stable: PENDING,
# ACTIVE, TERMINATED, ERROR; transitional: CREATING, STARTING, UPDATING, TERMINATING, DELETING.
WAITING = {"CREATING", "PENDING", "STARTING", "UPDATING"}
GONE = {"TERMINATING", "TERMINATED", "DELETING"}
# Nova extra spec that ties a Blazar-made flavor to its reservation (KVM@TACC).
RESERVATION_SPEC = "aggregate_instance_extra_specs:reservation"
# Chameleon lets a lease be prolonged only within this long of its end (ChameleonCloud/blazar
# blazar/enforcement/filters/max_lease_duration_filter.py, check_update, with
# reservation_extension_window = 48 h as ChameleonCloud/docs
# source/technical/reservations/gui_reservations.rst states; commits
# bbd20e846740e3c4547be351996820d3f2330976 and 50021b6df897d350e32cc3b9d57e1de2a3c837fa).
# How far an extension may reach is max_hours in ops/project.json (7 days, the filter's
# max_lease_duration).
EXTENSION_WINDOW = dt.timedelta(hours=48)


class LeaseError(OpsError):
    """A problem the user can act on; printed without a traceback."""


class Timeout(LeaseError):
    exit_code = 3


class LeaseFailed(LeaseError):
    exit_code = 4


class NoCapacity(LeaseError):
    exit_code = 5


class NotFound(LeaseError):
    exit_code = 6


# ----- time -----------------------------------------------------------------------------------


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def parse_time(value: str) -> dt.datetime:
    """Blazar returns '2025-01-31T12:00:00.000000' or '2025-01-31 12:00:00' (UTC, naive)."""
    text = value.replace("T", " ").rstrip("Z").split("+")[0]
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", BLAZAR_TIME):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise LeaseError(f"unexpected time format from Blazar: {value!r}")


def start_date(value: str, now: dt.datetime) -> str:
    """`--start` as Blazar takes it: 'now' or '%Y-%m-%d %H:%M' (UTC), whatever ISO form was typed
    ('2026-12-03T10:00', '2026-12-03 10:00:00', '...Z', '...+02:00')."""
    text = value.strip()
    if text.lower() == "now":
        return "now"
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise LeaseError(f"--start {value!r} is not a date; use 'now' or 'YYYY-MM-DD HH:MM' (UTC),"
                         " e.g. --start '2026-12-03 10:00'") from None
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    # Blazar counts whole minutes and refuses a start before the current minute
    # (openstack/blazar blazar/manager/service.py, _parse_lease_dates and create_lease).
    when = when.replace(second=0, microsecond=0)
    if when < now.replace(second=0, microsecond=0):
        raise LeaseError(f"--start {when:%Y-%m-%d %H:%M} UTC is in the past (it is now"
                         f" {now:%Y-%m-%d %H:%M} UTC); use --start now or a later time")
    return when.strftime(BLAZAR_TIME)


def span(delta: dt.timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {rest % 60}s"


# ----- OpenStack access -----------------------------------------------------------------------


class Cloud:
    """Blazar (reservation) and Nova (compute) of one site, authenticated from clouds.yaml."""

    def __init__(self, cloud: str, region: str) -> None:
        # Imported here so that `--help` works before `make tools`.
        try:
            import openstack.config.loader
            from blazarclient import client as blazar_client
            from keystoneauth1 import adapter
        except ImportError as exc:
            raise LeaseError(
                f"{exc.name} is missing: run `make tools` (or pip install -r ops/requirements.txt)"
            ) from None
        stray = sorted(k for k in os.environ if k.startswith("OS_") and k not in (
            "OS_CLOUD", "OS_CLIENT_CONFIG_FILE"))
        if stray:
            print(f"note: ignoring {', '.join(stray)}; credentials come from clouds.yaml entry"
                  f" {cloud!r}", file=sys.stderr)
        files = config_files(openstack.config.loader.CONFIG_FILES)
        try:
            config = openstack.config.OpenStackConfig(
                config_files=files, load_envvars=False).get_one(cloud=cloud, region_name=region)
        except Exception as exc:  # openstack.config raises several kinds for a missing entry
            raise LeaseError(
                f"clouds.yaml has no usable entry {cloud!r} ({exc}). Create an application"
                " credential for this site and download its clouds.yaml (see README,"
                " Provisioning).") from None
        self.session = config.get_session()
        interface = config.get_interface() or "public"
        region_name = config.get_region_name() or region
        self.blazar = blazar_client.Client(1, session=self.session, service_type="reservation",
                                           interface=interface, region_name=region_name)
        self.nova = adapter.Adapter(self.session, service_type="compute", interface=interface,
                                    region_name=region_name)

    def user_id(self) -> str | None:
        """The id of the user the application credential belongs to (None if unknown)."""
        try:
            return self.session.get_user_id()
        except Exception:  # an unknown owner only skips the ownership check
            return None

    def call(self, fn, *args, **kwargs):
        """Run a Blazar call, turning client errors into messages."""
        return guarded("reservation (Blazar)", fn, *args, **kwargs)

    def flavors(self) -> list[dict[str, Any]]:
        # Microversion 2.61 puts extra_specs in the listing (no call per flavor).
        resp = guarded("compute (Nova)", self.nova.get, "/flavors/detail",
                       headers={"OpenStack-API-Version": "compute 2.61"},
                       params={"is_public": "None"})
        return resp.json()["flavors"]


def config_files(defaults: list[str]) -> list[str]:
    """Where clouds.yaml is looked for: $OS_CLIENT_CONFIG_FILE first, as Terraform and the
    OpenStack CLI do, then openstacksdk's places (./, ~/.config/openstack, /etc/openstack).
    openstacksdk reads that variable only with load_envvars=True (openstack/config/loader.py,
    OpenStackConfig.__init__ and _get_envvar, openstacksdk 4.22.0), which would also let stray
    OS_* variables override the file, so the tool reads it itself."""
    override = os.environ.get("OS_CLIENT_CONFIG_FILE")
    if not override:
        return list(defaults)
    if not Path(override).is_file():
        raise LeaseError(f"OS_CLIENT_CONFIG_FILE is {override}, which is not a file; point it at"
                         " your clouds.yaml or unset it")
    return [override, *defaults]


def guarded(service: str, fn, *args, **kwargs):
    """Run one OpenStack call, turning client and HTTP errors into messages."""
    from blazarclient import exception as blazar_exc
    from keystoneauth1 import exceptions as ks_exc

    try:
        return fn(*args, **kwargs)
    except blazar_exc.BlazarClientException as exc:
        message = str(exc).removeprefix("ERROR: ")
        if looks_like_no_capacity(message):
            raise NoCapacity(message) from None
        raise LeaseError(f"Blazar refused: {message}") from None
    except ks_exc.Unauthorized:
        raise LeaseError("authentication failed: check the application credential in"
                         " clouds.yaml (it may have expired)") from None
    except ks_exc.EndpointNotFound:
        raise LeaseError(f"this cloud has no {service} endpoint; is the clouds.yaml"
                         " entry for the right Chameleon site?") from None
    except ks_exc.ConnectFailure as exc:
        raise LeaseError(f"cannot reach the site: {exc}") from None
    except ks_exc.HttpError as exc:
        raise LeaseError(f"{service} answered HTTP {exc.http_status}: {exc.message or exc}."
                         " Try again in a minute; if it persists, check Chameleon's status"
                         " page") from None


def node_type_of(resource_properties: str) -> str | None:
    """The node type in a reservation's resource_properties, e.g. '["==", "$node_type", "x"]'."""
    try:
        expr = json.loads(resource_properties)
    except ValueError:
        return None
    if isinstance(expr, list) and len(expr) == 3 and expr[:2] == ["==", "$node_type"]:
        return str(expr[2])
    return None


def looks_like_no_capacity(message: str) -> bool:
    text = message.lower()
    return any(k in text for k in ("not enough", "notenough", "no hosts", "insufficient",
                                   "not available", "no valid host"))


# ----- lease logic ----------------------------------------------------------------------------


class Leases:
    def __init__(self, cloud: Cloud, config: dict[str, Any], out=sys.stdout) -> None:
        self.cloud = cloud
        self.config = config
        self.name = config["lease_name"]
        self.out = out

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def find(self) -> dict[str, Any] | None:
        matches = [lease for lease in self.cloud.call(self.cloud.blazar.lease.list)
                   if lease.get("name") == self.name]
        live = [lease for lease in matches if lease.get("status") not in GONE]
        if len(live) > 1:
            ids = ", ".join(lease["id"] for lease in live)
            raise LeaseError(f"several leases are named {self.name!r} ({ids}); delete the extra"
                             " ones with `openstack reservation lease delete <id>`")
        return live[0] if live else (matches[0] if matches else None)

    def get(self, lease_id: str) -> dict[str, Any]:
        return self.cloud.call(self.cloud.blazar.lease.get, lease_id)

    def check_owner(self, lease: dict[str, Any], action: str) -> None:
        """Leases are named after the project, and a Chameleon project has several users: never
        reuse or delete a teammate's lease that happens to carry the same name."""
        me, owner = self.cloud.user_id(), lease.get("user_id")
        if me and owner and owner != me:
            raise LeaseError(
                f"lease {self.name} ({lease['id']}) belongs to another user of this Chameleon"
                f" project (user {owner}), so it is not yours to {action}. Give your study a name"
                " of its own: change project.name in the spec and re-render.")

    def mismatch(self, lease: dict[str, Any]) -> str | None:
        """What the lease reserves, when that is not what the spec asks for (None: it matches).
        Fields Blazar does not report are not held against it."""
        cfg = self.config
        reservations = lease.get("reservations") or []
        if len(reservations) > 1:
            return f"{len(reservations)} reservations"
        if not reservations:
            return None
        r = reservations[0]
        found = []
        if cfg["kind"] == "baremetal":
            if r.get("resource_type") not in (None, "physical:host"):
                found.append(f"resource type {r['resource_type']}")
            props = r.get("resource_properties")
            if props and node_type_of(props) != cfg["node_type"]:
                found.append(f"hosts matching {props}")
            counts = {int(r[k]) for k in ("min", "max") if r.get(k) not in (None, "")}
            if counts and counts != {cfg["node_count"]}:
                found.append(f"{'-'.join(str(c) for c in sorted(counts))} host(s)")
        else:
            if r.get("resource_type") not in (None, "flavor:instance"):
                found.append(f"resource type {r['resource_type']}")
            if r.get("amount") not in (None, "") and int(r["amount"]) != cfg["node_count"]:
                found.append(f"{r['amount']} instance(s)")
            source = source_flavor(r.get("resource_properties"))
            if source and source.get("id") != self.flavor_id(cfg["flavor"]):
                found.append(f"flavor {source.get('name') or source.get('id')}")
        return ", ".join(found) or None

    def request(self, start: str, hours: int) -> dict[str, Any]:
        """The lease body Blazar receives (also shown by `create --dry-run`); `start` is 'now' or
        BLAZAR_TIME (see start_date)."""
        cfg = self.config
        if cfg["kind"] == "baremetal":
            reservation = {
                "resource_type": "physical:host",
                "resource_properties": json.dumps(["==", "$node_type", cfg["node_type"]]),
                "hypervisor_properties": "",
                "min": cfg["node_count"],
                "max": cfg["node_count"],
            }
        else:
            reservation = {
                "resource_type": "flavor:instance",
                "flavor_id": self.flavor_id(cfg["flavor"]),
                "amount": cfg["node_count"],
                "affinity": None,
            }
        begin = utcnow() if start == "now" else parse_time(start)
        end = begin + dt.timedelta(hours=hours)
        return {"name": self.name, "start": start, "end": end.strftime(BLAZAR_TIME),
                "reservations": [reservation], "events": []}

    def flavor_id(self, name: str) -> str:
        for flavor in self.cloud.flavors():
            if flavor.get("name") == name:
                return flavor["id"]
        raise LeaseError(f"flavor {name!r} does not exist at {self.config['site']}")

    def create(self, hours: int, start: str, wait: bool, timeout: float, interval: float) -> dict:
        existing = self.find()
        if existing is not None and existing.get("status") not in GONE:
            self.check_owner(existing, "reuse")
            different = self.mismatch(existing)
            if different:
                raise LeaseError(
                    f"lease {self.name} ({existing['id']}) reserves {different}, but the spec asks"
                    f" for {self.describe()}. Delete it (`python3 -m ops lease delete --yes`, after"
                    " `make down` if nodes run in it) and create it again, or put the spec back.")
        if existing is not None:
            status = existing.get("status")
            if status == "ACTIVE":
                self.say(f"Reusing ACTIVE lease {self.name} ({existing['id']}).")
                self.warn_degraded(existing)
            elif status in WAITING:
                self.say(f"Lease {self.name} already exists ({status}); waiting for it.")
            elif status == "ERROR":
                raise LeaseFailed(
                    f"lease {self.name} ({existing['id']}) is in ERROR."
                    " Delete it (`python3 -m ops lease delete --yes`) and create it again.")
            else:
                raise LeaseError(
                    f"lease {self.name} ({existing['id']}) has ended ({status}). Delete it"
                    " (`python3 -m ops lease delete --yes`) to free the name, then create again.")
            lease = existing
        else:
            body = self.request(start, hours)
            self.say(f"Creating lease {self.name}: {self.describe()} for {hours} h,"
                     f" from {start} to {body['end']} UTC.")
            try:
                lease = self.cloud.call(self.cloud.blazar.lease.create, body["name"],
                                        body["start"], body["end"], body["reservations"],
                                        body["events"])
            except NoCapacity as exc:
                raise NoCapacity(f"{self.site_hw()} has no capacity for this lease: {exc}."
                                 f"{self.next_free_hint(hours)}") from None
        if wait and lease.get("status") != "ACTIVE":
            lease = self.wait(lease["id"], timeout, interval)
        if lease.get("status") == "ACTIVE":
            self.write_tfvars(lease)
        return lease

    def wait(self, lease_id: str, timeout: float, interval: float) -> dict[str, Any]:
        started = time.monotonic()
        tty = self.out.isatty()
        last = None
        while True:
            lease = self.get(lease_id)
            status = lease.get("status")
            elapsed = time.monotonic() - started
            line = f"lease {self.name}: {status} ({span(dt.timedelta(seconds=elapsed))}" \
                   f" of at most {span(dt.timedelta(seconds=timeout))})"
            if tty:
                print("\r" + line.ljust(78), end="", file=self.out, flush=True)
            elif status != last:
                self.say(line)
            last = status
            if status == "ACTIVE":
                if tty:
                    print(file=self.out)
                self.warn_degraded(lease)
                return lease
            if status == "ERROR":
                raise LeaseFailed(f"lease {self.name} went to ERROR. Delete it"
                                  " (`python3 -m ops lease delete --yes`) and try again, or"
                                  " another node type.")
            if status in GONE:
                raise LeaseFailed(f"lease {self.name} ended ({status}) before becoming ACTIVE.")
            if elapsed + interval > timeout:
                if tty:
                    print(file=self.out)
                start = lease.get("start_date")
                later = start and parse_time(start) > utcnow()
                raise Timeout(
                    f"lease {self.name} is still {status} after {span(dt.timedelta(seconds=elapsed))}"
                    + (f"; it starts at {start} UTC, run `python3 -m ops lease wait` then."
                       if later else
                       "; Blazar has not started it. Check `python3 -m ops lease status`, or"
                       " delete it and retry later."))
            time.sleep(interval)

    def write_tfvars(self, lease: dict[str, Any]) -> Path:
        wanted = "physical:host" if self.config["kind"] == "baremetal" else "flavor:instance"
        reservations = [r for r in lease.get("reservations", []) if r.get("resource_type") == wanted]
        if not reservations:
            raise LeaseError(f"lease {self.name} has no {wanted} reservation; it was not made by"
                             " this tool. Delete it or rename the project.")
        values = {"reservation_id": reservations[0]["id"]}
        if self.config["kind"] == "kvm":
            # Blazar names the reserved flavor by the reservation id and reports it as the
            # reservation's flavor_id (openstack/blazar blazar/plugins/flavor/flavor_plugin.py,
            # reserve_resource and _create_flavor; commit acc44dc9792c34d5a3bf8feb6b3c27ccffbba2db).
            values["flavor_id"] = (reservations[0].get("flavor_id")
                                   or self.reserved_flavor(values["reservation_id"]))
        path = ROOT / self.config["tfvars"]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmp.replace(path)
        self.say(f"Wrote {self.config['tfvars']}: reservation {values['reservation_id']}"
                 + (f", flavor {values['flavor_id']}" if "flavor_id" in values else "") + ".")
        return path

    def reserved_flavor(self, reservation_id: str) -> str:
        for flavor in self.cloud.flavors():
            if (flavor.get("extra_specs") or {}).get(RESERVATION_SPEC) == reservation_id:
                return flavor["id"]
        raise LeaseError(f"no flavor belongs to reservation {reservation_id} yet; run"
                         " `python3 -m ops lease wait` again in a minute")

    def status(self, as_json: bool = False) -> dict[str, Any]:
        """Say where the lease stands (STATUS_FIELDS), as text or as one JSON object."""
        lease = self.find()
        if lease is None:
            raise NotFound(f"no lease named {self.name}; create it with `python3 -m ops lease create`")
        facts = self.status_facts(lease, utcnow())
        if as_json:
            self.say(json.dumps(facts, indent=2, sort_keys=True))
        else:
            for line in status_lines(facts):
                self.say(line)
        return lease

    def status_facts(self, lease: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        start, end = parse_time(lease["start_date"]), parse_time(lease["end_date"])
        kind = "physical:host" if self.config["kind"] == "baremetal" else "flavor:instance"
        reservations = [{"id": r.get("id"), "resource_type": r.get("resource_type"),
                         "status": r.get("status")} for r in lease.get("reservations", [])]
        return {
            "name": self.name,
            "lease_id": lease["id"],
            "status": lease.get("status"),
            "resources": f"{self.describe()} at {self.config['site']}",
            "start": f"{start:%Y-%m-%d %H:%M}",
            "end": f"{end:%Y-%m-%d %H:%M}",
            "seconds_to_start": max(int((start - now).total_seconds()), 0),
            "seconds_left": max(int((end - min(max(now, start), end)).total_seconds()), 0)
            if now < end else 0,
            "extend": self.extension_hint(end, now) if now < end else None,
            "reservation_id": next((r["id"] for r in reservations if r["resource_type"] == kind),
                                   None),
            "reservations": reservations,
            "degraded": bool(lease.get("degraded")),
            "degraded_text": degraded_text(lease) if lease.get("degraded") else None,
            "checked_at": f"{now:%Y-%m-%d %H:%M:%S}",
        }

    def extend(self, hours: int) -> dict[str, Any]:
        if hours < 1:
            raise LeaseError("--hours must be a whole number of hours, 1 or more")
        lease = self.find()
        if lease is None or lease.get("status") in GONE:
            raise NotFound(f"no running lease named {self.name}")
        self.check_owner(lease, "extend")
        if self.config["kind"] != "baremetal" or any(
                r.get("resource_type") == "flavor:instance" for r in lease.get("reservations", [])):
            # openstack/blazar blazar/manager/service.py, _handle_resource_type_exception, and
            # blazar/plugins/flavor/flavor_plugin.py, update_reservation (commit
            # acc44dc9792c34d5a3bf8feb6b3c27ccffbba2db): refused, and the refusal leaves the lease
            # in ERROR, so it is never sent.
            raise LeaseError(
                f"lease {self.name} reserves KVM instances (flavor:instance), and Blazar cannot"
                " change such a lease. To run longer, create a new lease before this one ends"
                f" (it ends {parse_time(lease['end_date']):%Y-%m-%d %H:%M} UTC): back up, then"
                " `make down` and `make up` with chameleon.lease_hours set as needed.")
        current = parse_time(lease["end_date"])
        end = current + dt.timedelta(hours=hours)
        self.check_extension(current, end, utcnow())
        updated = self.cloud.call(self.cloud.blazar.lease.update, lease["id"],
                                  end_date=end.strftime(BLAZAR_TIME))
        self.say(f"Lease {self.name} now ends {end:%Y-%m-%d %H:%M} UTC.")
        return updated

    def check_extension(self, current: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
        """Refuse what Chameleon's Blazar refuses (ChameleonCloud/blazar
        blazar/enforcement/filters/max_lease_duration_filter.py, check_update, commit
        bbd20e846740e3c4547be351996820d3f2330976): an extension asked for before
        end - EXTENSION_WINDOW, or one that ends more than max_lease_duration after the current
        end (inside the window the filter measures from the current end date)."""
        opens = current - EXTENSION_WINDOW
        if now < opens:
            raise LeaseError(
                f"lease {self.name} ends {current:%Y-%m-%d %H:%M} UTC; Chameleon extends a lease"
                f" only in the last {span(EXTENSION_WINDOW)} before its end, so extending becomes"
                f" possible from {opens:%Y-%m-%d %H:%M} UTC (in {span(opens - now)}).")
        limit = dt.timedelta(hours=self.config["max_hours"])
        if end - current > limit:
            raise LeaseError(
                f"--hours {int((end - current).total_seconds() // 3600)} is more than Chameleon"
                f" allows: an extension may add at most {int(limit.total_seconds() // 3600)} h"
                f" to the current end ({current:%Y-%m-%d %H:%M} UTC).")

    def extension_hint(self, end: dt.datetime, now: dt.datetime) -> str:
        if self.config["kind"] != "baremetal":
            return "not possible on KVM (Blazar cannot update flavor:instance leases); make a new lease"
        opens = end - EXTENSION_WINDOW
        if now < opens:
            return f"possible from {opens:%Y-%m-%d %H:%M} UTC (the last {span(EXTENSION_WINDOW)})"
        return f"possible now, by up to {self.config['max_hours']} h: python3 -m ops lease extend --hours N"

    def warn_degraded(self, lease: dict[str, Any]) -> None:
        if lease.get("degraded"):
            print(f"warning: lease {self.name} is degraded: {degraded_text(lease)}",
                  file=sys.stderr)

    def delete(self) -> None:
        lease = self.find()
        if lease is None:
            raise NotFound(f"no lease named {self.name}")
        self.check_owner(lease, "delete")
        self.cloud.call(self.cloud.blazar.lease.delete, lease["id"])
        tfvars = ROOT / self.config["tfvars"]
        if tfvars.exists():
            tfvars.unlink()
        self.say(f"Deleted lease {self.name} ({lease['id']}); removed {self.config['tfvars']}.")

    # -- messages

    def describe(self) -> str:
        cfg = self.config
        what = cfg["node_type"] if cfg["kind"] == "baremetal" else cfg["flavor"]
        return f"{cfg['node_count']} x {what}"

    def site_hw(self) -> str:
        return f"{self.config['site']} ({self.describe()})"

    def next_free_hint(self, hours: int) -> str:
        if self.config["kind"] != "baremetal":
            return " Try a smaller flavor or try again later."
        try:
            slot = next_free_slot(self.cloud, self.config["node_type"], self.config["node_count"],
                                  dt.timedelta(hours=hours), utcnow())
        except LeaseError:
            return " Try again later."
        if slot is None:
            return (f" The site does not have {self.config['node_count']} {self.config['node_type']}"
                    " nodes at all; lower node_count or pick another node type.")
        when = slot.strftime(BLAZAR_TIME)
        return (f" The next free slot for {hours} h starts {when} UTC:"
                f" python3 -m ops lease create --start '{when}'")


def next_free_slot(cloud: Cloud, node_type: str, count: int, length: dt.timedelta,
                   now: dt.datetime) -> dt.datetime | None:
    """Earliest start at which `count` hosts of `node_type` are all free for `length`."""
    hosts = [h for h in cloud.call(cloud.blazar.host.list) if h.get("node_type") == node_type]
    if len(hosts) < count:
        return None
    busy: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {str(h["id"]): [] for h in hosts}
    for alloc in cloud.call(cloud.blazar.allocation.list, "os-hosts"):
        host_id = str(alloc.get("resource_id"))
        if host_id in busy:
            busy[host_id] += [(parse_time(r["start_date"]), parse_time(r["end_date"]))
                              for r in alloc.get("reservations", [])]
    candidates = sorted({now, *(end for spans in busy.values() for _, end in spans if end > now)})
    for start in candidates:
        stop = start + length
        free = sum(1 for spans in busy.values()
                   if all(e <= start or s >= stop for s, e in spans))
        if free >= count:
            # Blazar wants whole minutes; round up so the slot is really free.
            return (start + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    return None


def source_flavor(resource_properties: Any) -> dict[str, Any] | None:
    """The flavor a flavor:instance reservation was made from: Blazar keeps it, as JSON, in the
    reservation's resource_properties (openstack/blazar blazar/plugins/flavor/flavor_plugin.py,
    reserve_resource: json.dumps(source_flavor); commit acc44dc9792c34d5a3bf8feb6b3c27ccffbba2db)."""
    if not resource_properties:
        return None
    try:
        flavor = json.loads(resource_properties)
    except (TypeError, ValueError):
        return None
    return flavor if isinstance(flavor, dict) else None


def status_lines(facts: dict[str, Any]) -> list[str]:
    """The human form of `status`: what `status` prints, and `cached` from the saved JSON."""
    lines = [f"lease      {facts['name']} ({facts['lease_id']})",
             f"status     {facts['status']}",
             f"resources  {facts['resources']}",
             f"start      {facts['start']} UTC",
             f"end        {facts['end']} UTC"]
    if facts["seconds_to_start"]:
        lines.append(f"starts in  {span(dt.timedelta(seconds=facts['seconds_to_start']))}")
    elif facts["seconds_left"]:
        lines.append(f"time left  {span(dt.timedelta(seconds=facts['seconds_left']))}")
    else:
        lines.append("time left  none (ended)")
    if facts["extend"]:
        lines.append(f"extend     {facts['extend']}")
    lines += [f"reservation {r['id']} ({r['resource_type']}, {r['status']})"
              for r in facts["reservations"]]
    if facts["degraded"]:
        lines.append(f"degraded   yes: {facts['degraded_text']}")
    return lines


def cached(path: Path, field: str | None) -> str:
    """What the last `status --json` saved in PATH: one field's value, or the summary lines
    (as of when it was saved). No network: the Makefile reads lease facts this way."""
    try:
        facts = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"{path} is missing: run `make lease` (it saves the lease status)") from None
    except ValueError as exc:
        raise LeaseError(f"{path} is not the JSON `status --json` writes ({exc}); run"
                         " `make lease` again") from None
    if field is None:
        keep = ("lease ", "end ", "time left", "starts in")
        return ("\n".join(line for line in status_lines(facts) if line.startswith(keep))
                + f"\n(as of {facts['checked_at']} UTC; `make status` asks Blazar again)")
    if field not in facts:
        raise LeaseError(f"no field {field!r} in {path}; fields: {', '.join(sorted(facts))}")
    value = facts[field]
    return "" if value is None else str(value)


def degraded_text(lease: dict[str, Any]) -> str:
    """What a degraded lease means. Blazar gives no reason text: it sets the lease's `degraded`
    and flags each reservation missing_resources (a reserved host failed, no replacement) or
    resources_changed (it was replaced) (openstack/blazar blazar/monitor/base.py and
    blazar/plugins/oshosts/host_plugin.py, heal_reservations)."""
    flags = []
    for r in lease.get("reservations", []):
        if r.get("missing_resources"):
            flags.append(f"reservation {r.get('id')} lost a host and has no replacement")
        if r.get("resources_changed"):
            flags.append(f"reservation {r.get('id')} had a failed host replaced")
    what = "; ".join(flags) or "a reserved host failed"
    return (f"{what}. Nodes on a failed host are gone: check with `make status`; if one is"
            " missing, back up, then delete the lease and create it again.")


# ----- CLI ------------------------------------------------------------------------------------

REQUIRED = {"cloud", "site", "region", "kind", "lease_name", "node_count", "hours", "max_hours",
            "tfvars"}


def load_config(project: dict[str, Any]) -> dict[str, Any]:
    """The "lease" settings of ops/project.json, checked for what this module reads."""
    config = dict(project.get("lease") or {})
    missing = sorted(REQUIRED - set(config))
    if missing:
        raise LeaseError(f"ops/project.json lacks lease {', '.join(missing)};"
                         " re-render the project")
    return config


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = command(commands, "lease", main, "the Blazar lease: create, wait, status, extend, delete",
                "python3 -m ops lease status", description=__doc__.split("\n\n")[0])
    p.add_argument("--cloud", help="clouds.yaml entry (default: the one in ops/project.json)")
    sub = p.add_subparsers(dest="lease_command", required=True, metavar="COMMAND")
    create = sub.add_parser("create", help="reuse or create the lease and wait until ACTIVE"
                            " (`make lease`); saves terraform/lease-status.json")
    create.add_argument("--hours", type=int, help="length (default: the spec's lease_hours)")
    create.add_argument("--start", default="now",
                        help="'now' or a UTC date, 'YYYY-MM-DD HH:MM' (ISO forms are accepted)")
    create.add_argument("--no-wait", action="store_true", help="return once Blazar accepted it")
    create.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    for cmd in (create, sub.add_parser("wait", help="wait for the lease, then write the tfvars")):
        cmd.add_argument("--timeout", type=float, default=1200, help="seconds (default 1200)")
        cmd.add_argument("--interval", type=float, default=15, help="seconds between polls")
    status = sub.add_parser("status", help="state, reservations and time left")
    status.add_argument("--json", action="store_true", help="one JSON object (what create saves)")
    show = sub.add_parser("cached", help="a field of the status saved by `create`, no network")
    show.add_argument("field", nargs="?",
                      help="e.g. lease_id, reservation_id, end (default: summary)")
    show.add_argument("--file", type=Path, default=STATUS_FILE,
                      help="saved status (default terraform/lease-status.json)")
    extend = sub.add_parser("extend", help="push the end date back (bare metal, in the last 48 h)")
    extend.add_argument("--hours", type=int, required=True)
    delete = sub.add_parser("delete", help="delete the lease (its nodes are deleted with it)")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    create.set_defaults(hint="make status; or pick another time slot (see above)")


def main(args: argparse.Namespace) -> int:
    config = load_config(settings.project())
    if args.cloud:
        config["cloud"] = args.cloud
    try:
        return run(args, config)
    except KeyboardInterrupt:
        print("\ninterrupted; the lease (if any) is left as it is", file=sys.stderr)
        return 130


def cached_or_empty(field: str) -> str:
    """A field of the saved status, or "" when there is none (runs record what is known)."""
    try:
        return cached(STATUS_FILE, field)
    except LeaseError:
        return ""


def save_status(leases: Leases, path: Path = STATUS_FILE) -> None:
    """What `status --json` prints, saved for `cached` (the Makefile's lease facts)."""
    lease = leases.find()
    if lease is None:
        return
    facts = leases.status_facts(lease, utcnow())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def run(args: argparse.Namespace, config: dict[str, Any]) -> int:
    command = args.lease_command
    if command == "cached":
        print(cached(args.file, args.field))
        return 0
    hours = config["hours"] if getattr(args, "hours", None) is None else args.hours
    if command == "create" and not 1 <= hours <= config["max_hours"]:
        raise LeaseError(f"--hours must be from 1 to {config['max_hours']}")
    if command == "create":
        args.start = start_date(args.start, utcnow())
    leases = Leases(Cloud(config["cloud"], config["region"]), config)
    if command == "create":
        if args.dry_run:
            print(json.dumps(leases.request(args.start, hours), indent=2, sort_keys=True))
            return 0
        wait = not args.no_wait and (args.start == "now")
        lease = leases.create(hours, args.start, wait, args.timeout, args.interval)
        if lease.get("status") != "ACTIVE":
            print(f"Lease {leases.name} is {lease.get('status')}: once it starts, run"
                  " `python3 -m ops lease wait` (or `make up`) to write the reservation id.")
        save_status(leases)
    elif command == "wait":
        lease = leases.find()
        if lease is None:
            raise NotFound(f"no lease named {leases.name}; run `python3 -m ops lease create`")
        lease = leases.wait(lease["id"], args.timeout, args.interval)
        leases.write_tfvars(lease)
    elif command == "status":
        leases.status(as_json=args.json)
    elif command == "extend":
        leases.extend(args.hours)
    elif command == "delete":
        if not args.yes:
            if not sys.stdin.isatty():
                raise LeaseError("deleting the lease deletes its nodes; pass --yes to confirm")
            answer = input(f"Delete lease {leases.name} and every node in it? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("kept")
                return 1
        leases.delete()
        STATUS_FILE.unlink(missing_ok=True)
    return 0
