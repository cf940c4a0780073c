"""Make the support plugin active for these tests even when the suite's
top-level conftest does not load it."""

from __future__ import annotations

import pytest

from . import plugin


def pytest_configure(config: pytest.Config) -> None:
    if not any(getattr(p, "__file__", None) == plugin.__file__
               for p in config.pluginmanager.get_plugins()):
        config.pluginmanager.register(plugin, "repro-gen-testbed-support")
