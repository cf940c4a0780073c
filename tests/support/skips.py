"""Skip a test for a missing service, or fail it where the service is required."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_DOCKER = "REPRO_GEN_REQUIRE_DOCKER"
REQUIRE_SERVICES = "REPRO_GEN_REQUIRE_SERVICES"


def required(env_var: str) -> bool:
    """True when ``env_var`` asks for missing services to fail tests."""
    return os.environ.get(env_var, "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str, env_var: str) -> NoReturn:
    """Skip with ``reason``; fail instead when ``env_var`` is set (as in CI)."""
    if required(env_var):
        pytest.fail(f"{reason} (failing instead of skipping because {env_var}=1)", pytrace=False)
    pytest.skip(reason)
