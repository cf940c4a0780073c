"""The rendered ops package, imported from a copy of a rendered example: each test gets its own
repository (the package finds it from its own path) and a fresh import of the package."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest


class Ops:
    """`ops.<module>` of one repository, imported on first use."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def __getattr__(self, name: str) -> ModuleType:
        return importlib.import_module(f"ops.{name}")


def _forget_ops() -> None:
    for name in [n for n in sys.modules if n == "ops" or n.startswith("ops.")]:
        del sys.modules[name]


def load_ops(tree: Path, dest: Path, monkeypatch: pytest.MonkeyPatch) -> Ops:
    repo = Path(shutil.copytree(tree, dest, symlinks=True))
    _forget_ops()
    monkeypatch.syspath_prepend(str(repo))
    monkeypatch.chdir(repo)
    # The make variables the commands read: none set unless a test sets them.
    settings = importlib.import_module("ops.settings")
    for name in settings.KNOBS:
        monkeypatch.delenv(name, raising=False)
    return Ops(repo)


@pytest.fixture
def ops(example_trees, tmp_path, monkeypatch):
    """The package of the `minimal` example (bare metal, backups on)."""
    yield load_ops(example_trees["minimal"], tmp_path / "repo", monkeypatch)
    _forget_ops()


@pytest.fixture
def ops_kvm(example_trees, tmp_path, monkeypatch):
    """The package of `cpu-sklearn-kvm` (KVM, backups off)."""
    yield load_ops(example_trees["cpu-sklearn-kvm"], tmp_path / "repo", monkeypatch)
    _forget_ops()


HEAD = {"schema": 1, "site": "CHI@UC", "reservation_id": "r-1", "ssh_user": "cc",
        "head": {"name": "study-1", "fixed_ip": "10.0.0.5", "floating_ip": "192.0.2.7"},
        "nodes": [{"name": "study-1", "role": "head", "fixed_ip": "10.0.0.5",
                   "floating_ip": "192.0.2.7"},
                  {"name": "study-2", "role": "worker", "fixed_ip": "10.0.0.6",
                   "floating_ip": None}]}


def write_inventory(repo: Path, output: dict | None = None) -> None:
    path = repo / "ansible" / "inventory" / "terraform-output.json"
    path.write_text(json.dumps(HEAD if output is None else output))


def recorder(tmp_path: Path, name: str, script: str = "") -> tuple[Path, Path]:
    """An executable stand-in that logs its arguments (one call per line) and runs `script`."""
    log = tmp_path / f"{name}.log"
    tool = tmp_path / name
    tool.write_text(f'#!/bin/sh\necho "$*" >> {log}\n{script}\n')
    tool.chmod(0o755)
    return tool, log
