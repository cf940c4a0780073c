"""The network guard: tests reach loopback and their own networks, nothing else."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest

from tests.support import netguard


@pytest.mark.parametrize(("address", "ok"), [
    (("127.0.0.1", 80), True), (("::1", 80, 0, 0), True), (("10.1.2.3", 5432), True),
    (("172.17.0.2", 9000), True), (("192.168.1.1", 22), True), (("fd00::1", 80, 0, 0), True),
    ("/run/docker.sock", True), (b"\0abstract", True),
    (("169.254.169.254", 80), False), (("fe80::1%eth0", 80, 0, 0), False),
    (("8.8.8.8", 53), False), (("2001:4860:4860::8888", 53, 0, 0), False),
    (("::ffff:169.254.169.254", 80, 0, 0), False), (("0.0.0.0", 80), False),
])
def test_allowed_addresses(address, ok):
    assert netguard.allowed(address) is ok


def test_the_metadata_service_is_refused_and_the_test_fails(request):
    with pytest.raises(OSError, match="netguard"):  # urllib wraps it in a URLError
        urllib.request.urlopen("http://169.254.169.254/openstack/latest", timeout=1)
    # The guard would fail this test at teardown; take the record back to show it was made.
    assert netguard._violations == ["('169.254.169.254', 80)"]
    netguard._violations.clear()


def test_loopback_goes_through():
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname(), timeout=1):
        pass
    assert netguard._violations == []


def test_udp_to_a_public_address_is_refused():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, \
            pytest.raises(ConnectionRefusedError):
        sock.sendto(b"x", ("192.0.2.1", 53))
    netguard._violations.clear()


pytest_plugins = ["pytester"]


def test_a_test_that_reaches_out_fails_even_if_it_swallows_the_error(pytester):
    pytester.makeconftest('pytest_plugins = ["tests.support.netguard"]')
    pytester.makepyfile("""
        import urllib.request

        def test_probe():
            try:
                urllib.request.urlopen("http://169.254.169.254/", timeout=1)
            except OSError:
                pass
    """)
    pytester.syspathinsert(str(Path(__file__).resolve().parents[2]))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    assert "the test tried to reach ('169.254.169.254', 80)" in "\n".join(result.outlines)
