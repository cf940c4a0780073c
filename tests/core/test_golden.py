"""Rendered examples match the reviewed golden trees byte for byte, and rendering is deterministic."""

from __future__ import annotations

import json

import pytest

from repro_gen.loader import load
from repro_gen.render import render
from repro_gen.specdata import SpecRecord
from tests.golden import EXAMPLES, GOLDEN, expected_files


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_matches_golden_tree(example):
    expected = expected_files(example)
    golden_dir = GOLDEN / example.stem
    on_disk = {p.relative_to(golden_dir).as_posix(): p.read_bytes()
               for p in golden_dir.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(expected), "file list changed: run `make golden` and review"
    changed = [rel for rel in expected if on_disk[rel] != expected[rel]]
    assert not changed, f"rendered output differs from golden: {changed}; `make golden` + review"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_render_is_deterministic(example):
    assert expected_files(example) == expected_files(example)


def test_render_is_deterministic_across_processes(tmp_path):
    """Two processes with different hash seeds (set and dict order) write byte-identical trees."""
    import os
    import subprocess
    import sys

    example = max(EXAMPLES, key=lambda p: len(expected_files(p)))
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "REPRO_GEN_NO_CACHE": "1"}
        subprocess.run([sys.executable, "-m", "repro_gen", "render", str(example), "-o", str(out)],
                       check=True, capture_output=True, env=env)
        trees.append({p.relative_to(out).as_posix(): p.read_bytes()
                      for p in sorted(out.rglob("*")) if p.is_file()})
    assert trees[0] == trees[1]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_a_cached_spec_renders_the_same_bytes(example):
    """What `repro-gen render` renders from a spec it validated before (no pydantic involved)."""
    spec = load(example)
    record = SpecRecord(json.loads(json.dumps(spec.normalized())))
    assert render(record) == render(spec)
    assert (record.site, record.hardware, record.gpu) == (spec.site, spec.hardware, spec.gpu)


def test_the_cli_caches_a_valid_spec_and_serves_it_back(tmp_path, monkeypatch):
    from repro_gen import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("REPRO_GEN_NO_CACHE", raising=False)
    assert not isinstance(load(EXAMPLES[0], use_cache=True), SpecRecord)
    cache.save()
    again = load(EXAMPLES[0], use_cache=True)
    assert isinstance(again, SpecRecord) and again.normalized() == load(EXAMPLES[0]).normalized()
