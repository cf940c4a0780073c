"""pytest plugin: a test that sends traffic beyond this machine fails.

Loaded for the whole suite from ``tests/conftest.py``. While a test runs, ``socket.socket.connect``,
``connect_ex``, ``sendto`` and ``sendmsg`` in the test process refuse any address outside
loopback and the private networks the suite's own services live on (docker bridges, test
containers): link-local addresses (169.254.0.0/16, the cloud metadata service among them;
fe80::/10) and every public address. ``socket.create_connection``, urllib, http.client and asyncio
all connect through ``socket.socket.connect``, so they are covered. A refused connection raises
``ConnectionRefusedError`` (so code under test takes its "unreachable" path instead of reaching
out) and the test fails at teardown, naming the address, even if the code swallowed the error.

Limits: traffic from subprocesses (pip, terraform, docker, a training script run with
``subprocess``) and name resolution inside the C library cannot be guarded this way; those tests
point their programs at local stand-ins instead (e.g. REPRO_METADATA_URL at a closed local port).
A test that must reach the network on purpose says so with ``@pytest.mark.network``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

# Besides loopback: the networks local test services use (RFC 1918, unique local IPv6).
ALLOWED = [ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]

_violations: list[str] = []
_active = False
_originals: dict[str, Any] = {}


def allowed(address: Any) -> bool:
    """Whether a socket address (tuple for IP families; str/bytes for AF_UNIX) may be reached."""
    if not isinstance(address, tuple):
        return True  # a Unix socket path (or an abstract name): never leaves the machine
    host = str(address[0]).split("%", 1)[0]
    try:
        ips = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = _originals.get("getaddrinfo", socket.getaddrinfo)(host, None)
        except OSError:
            return True  # does not resolve: nothing is sent
        ips = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    for ip in ips:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not any(ip in net for net in ALLOWED if net.version == ip.version):
            return False
    return True


def _check(address: Any) -> None:
    if _active and not allowed(address):
        _violations.append(repr(address))
        raise ConnectionRefusedError(f"tests.support.netguard: no traffic to {address!r} from tests")


def _guarded(name: str, address_arg: int) -> Any:
    original = getattr(socket.socket, name)

    def method(self: socket.socket, *args: Any) -> Any:
        if len(args) > address_arg:
            _check(args[address_arg])
        return original(self, *args)

    method.__name__ = name
    method.netguard = True  # type: ignore[attr-defined]
    _originals[name] = original
    return method


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "network: may send traffic beyond loopback and private"
                                       " test networks (netguard lets it through)")
    if getattr(socket.socket.connect, "netguard", False):
        return  # already in place (a pytester session inside this one)
    _originals["getaddrinfo"] = socket.getaddrinfo
    # connect(address), connect_ex(address), sendto(data, address) or sendto(data, flags,
    # address): the address is the last positional argument; sendmsg(buffers, anc, flags, address).
    for name in ("connect", "connect_ex"):
        setattr(socket.socket, name, _guarded(name, 0))
    original_sendto = socket.socket.sendto
    _originals["sendto"] = original_sendto

    def sendto(self: socket.socket, *args: Any) -> Any:
        if len(args) >= 2:
            _check(args[-1])
        return original_sendto(self, *args)

    socket.socket.sendto = sendto  # type: ignore[method-assign]
    original_sendmsg = socket.socket.sendmsg
    _originals["sendmsg"] = original_sendmsg

    def sendmsg(self: socket.socket, *args: Any) -> Any:
        if len(args) >= 4 and args[3] is not None:
            _check(args[3])
        return original_sendmsg(self, *args)

    socket.socket.sendmsg = sendmsg  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_traffic_beyond_the_test_networks(request: pytest.FixtureRequest) -> Iterator[None]:
    global _active
    if request.node.get_closest_marker("network") is not None:
        yield
        return
    _violations.clear()
    _active = True
    try:
        yield
    finally:
        _active = False
    if _violations:
        found = ", ".join(dict.fromkeys(_violations))
        _violations.clear()
        pytest.fail(f"the test tried to reach {found}: tests talk only to loopback and their own"
                    " test networks (tests/support/netguard.py)", pytrace=False)
