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
