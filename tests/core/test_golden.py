"""Rendered examples match the reviewed golden trees byte for byte, and rendering is deterministic."""

from __future__ import annotations

import pytest

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
