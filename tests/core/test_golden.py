"""Rendered examples match the reviewed golden trees, and rendering is deterministic.

Templated files are byte-compared with their stored copies; verbatim copies of blueprint files
are compared by sha256 with each tree's VERBATIM list, as are the blueprint files themselves."""

from __future__ import annotations

import json

import pytest

from repro_gen import manifest
from repro_gen.loader import load
from repro_gen.render import render
from repro_gen.specdata import SpecRecord
from tests.golden import EXAMPLES, GOLDEN, VERBATIM, copy_sources, expected, expected_files, sha256, stored

REGENERATE = "run `make golden` and review the diff"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_matches_golden_tree(example):
    files, verbatim = expected(example)
    on_disk, listed = stored(example.stem)
    assert sorted(on_disk) == sorted(files), f"file list changed: {REGENERATE}"
    changed = [rel for rel in files if on_disk[rel] != files[rel]]
    assert not changed, f"rendered output differs from golden: {changed}; {REGENERATE}"
    assert sorted(listed) == sorted(verbatim), f"verbatim file list changed: {REGENERATE}"
    changed = [f"{rel}: rendered {verbatim[rel]}, {VERBATIM} says {listed[rel]}"
               for rel in verbatim if listed[rel] != verbatim[rel]]
    assert not changed, f"verbatim copies differ from golden: {changed}; {REGENERATE}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_listed_blueprint_files_are_unchanged(example):
    """Each verbatim file a golden tree lists is still, byte for byte, its blueprint file: a
    changed blueprint file fails here until `make golden` records it (and the diff shows it)."""
    root = manifest.blueprints_root()
    _, listed = stored(example.stem)
    assert listed, f"{GOLDEN / example.stem / VERBATIM} lists no files"
    sources = copy_sources()
    wrong = []
    for rel, copy in sorted(listed.items()):
        blueprint = root / copy.source
        if sources.get(rel) != copy.source:
            wrong.append(f"{rel}: the manifest copies it from {sources.get(rel)}, not {copy.source}")
        elif not blueprint.is_file():
            wrong.append(f"{rel}: blueprints/{copy.source} is gone")
        elif sha256(blueprint.read_bytes()) != copy.sha256:
            wrong.append(f"{rel}: blueprints/{copy.source} changed")
    assert not wrong, "\n".join(wrong) + f"\n{REGENERATE}"


def test_golden_trees_store_no_verbatim_copy():
    """Stored files are the templated ones only; a verbatim copy is listed, not stored."""
    for example in EXAMPLES:
        on_disk, listed = stored(example.stem)
        assert not set(on_disk) & set(listed), example.stem


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
