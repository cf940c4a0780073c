from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from repro_gen import spec as spec_mod
from repro_gen.loader import load
from repro_gen.project import render_into

from . import matrix
from .support.skips import require  # noqa: F401 (one skip-or-fail helper, used from here)

pytest_plugins = ["tests.support.plugin", "tests.support.netguard"]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def render_spec_file(path: Path, out_dir: Path) -> Path:
    render_into(load(path), out_dir)
    return out_dir


def render_data(data: dict, out_dir: Path) -> Path:
    render_into(spec_mod.validate(data), out_dir)
    return out_dir


def run(cmd: list[str], cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)


@pytest.fixture(scope="session")
def example_trees(tmp_path_factory) -> dict[str, Path]:
    """Every example spec rendered once per test session: {example name: tree}."""
    base = tmp_path_factory.mktemp("examples")
    return {p.stem: render_spec_file(p, base / p.stem) for p in EXAMPLES}


@pytest.fixture(scope="session")
def matrix_trees(tmp_path_factory) -> dict[matrix.Combo, Path]:
    """Every valid combination of the spec matrix rendered once: {combo: tree}."""
    base = tmp_path_factory.mktemp("matrix")
    return {c: matrix.render_into(c, base / c.id) for c in matrix.valid_combos()}
