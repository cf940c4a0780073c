"""Skip a test for a missing tool or service, or fail it where that is required (as in CI).

The one place that decides between the two: `skip_or_fail`. `REPRO_GEN_REQUIRE_DOCKER=1` makes a
missing Docker engine, compose plugin or test image a failure; `REPRO_GEN_REQUIRE_SERVICES=1` makes
every missing service or tool one (Docker included). `.ci/run` sets both.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

REQUIRE_DOCKER = "REPRO_GEN_REQUIRE_DOCKER"
REQUIRE_SERVICES = "REPRO_GEN_REQUIRE_SERVICES"

# Tools the test bed installs outside the test venv (testbed/apt.sh, checkov.sh, compose.sh):
# the fast tier (`pytest --fast`, tests/support/tiers.py) never runs them, on any machine.
TESTBED_TOOLS = frozenset({"docker", "docker-compose", "docker-compose-plugin", "checkov", "molecule"})
FAST_TIER = {"active": False}  # set by tests/support/tiers.py


def required(env_var: str) -> bool:
    """True when ``env_var`` asks for missing services to fail tests."""
    return os.environ.get(env_var, "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str, env_var: str = REQUIRE_SERVICES) -> NoReturn:
    """Skip with ``reason``; fail instead when ``env_var`` (or REPRO_GEN_REQUIRE_SERVICES, which
    requires everything) is set."""
    for var in dict.fromkeys((env_var, REQUIRE_SERVICES)):
        if required(var):
            pytest.fail(f"{reason} (failing instead of skipping because {var}=1)", pytrace=False)
    pytest.skip(reason)


def require(tool: str, why: str = "") -> str:
    """The path of an external tool on PATH, or a skip that names it (a failure when required).

    In the fast tier a test-bed tool (``TESTBED_TOOLS``) is always a skip."""
    if FAST_TIER["active"] and tool in TESTBED_TOOLS:
        pytest.skip(f"{tool}: the fast tier runs no test-bed tool (make test runs this)")
    path = shutil.which(tool)
    if path:
        return path
    skip_or_fail(f"{tool} is not installed{': ' + why if why else ''}", REQUIRE_SERVICES)
