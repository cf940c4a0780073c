"""Golden trees: every example rendered, under tests/golden/<example>/.

A golden tree stores, byte for byte, every file the render templates (the files that hold spec
values). Files the render ships verbatim from blueprints/ (manifest entries with `copy: true`, and
every file of a `tree:` entry) are not stored again: each tree's `VERBATIM` lists them, one line
each with the sha256 and mode of the copy, its path in the rendered repository and the blueprint
file it comes from. The tests check the render against both, and each listed blueprint file
against its sha256, so a changed blueprint file or a copy rendered with other bytes fails.

Regenerate only on purpose, and review the diff: `make golden`.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from repro_gen import manifest
from repro_gen.loader import load
from repro_gen.render import render
from repro_gen.state import BASE_FILE, State

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
# The list of verbatim files in each golden tree; no rendered file has this name (update() checks).
VERBATIM = "VERBATIM"
_HEADER = """\
# Files this example's render copies verbatim from blueprints/ (manifest `copy: true` and `tree:`
# entries). They are not stored in this folder: tests/core/test_golden.py checks the rendered copy
# and the blueprint file against the sha256 below. Written by `make golden`; do not edit.
# sha256 mode path <- blueprint
"""


@dataclass(frozen=True)
class Verbatim:
    """A file rendered as a verbatim copy of a blueprint file."""

    sha256: str
    mode: int
    source: str  # the blueprint file, relative to the blueprints folder

    def line(self, rel: str) -> str:
        return f"{self.sha256} {self.mode:04o} {rel} <- blueprints/{self.source}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def copy_sources() -> dict[str, str]:
    """{destination: blueprint file} for the destinations that only verbatim copies render to."""
    by_dest: dict[str, list[manifest.Entry]] = {}
    for entry in manifest.load():
        by_dest.setdefault(entry.dest, []).append(entry)
    out = {}
    for dest, entries in by_dest.items():
        if any(e.copy for e in entries):
            sources = {e.template for e in entries}
            if len(sources) != 1 or not all(e.copy for e in entries):
                # Which entry rendered it would depend on the conditions: store it rendered.
                continue
            out[dest] = sources.pop()
    return out


def expected(example: Path) -> tuple[dict[str, bytes], dict[str, Verbatim]]:
    """What a render of the example writes, minus last-render.json (a copy of the rest): the
    templated files with their bytes, and the verbatim copies."""
    tree = render(load(example))
    copies = copy_sources()
    files = {path: f.content for path, f in tree.items() if path not in copies}
    files.update(State.from_tree(tree).files())
    files.pop(BASE_FILE)
    verbatim = {path: Verbatim(sha256(f.content), f.mode, copies[path])
                for path, f in tree.items() if path in copies}
    return files, verbatim


def expected_files(example: Path) -> dict[str, bytes]:
    """Every file a render of the example writes (rendered and verbatim), minus last-render.json."""
    tree = render(load(example))
    files = {path: f.content for path, f in tree.items()}
    files.update(State.from_tree(tree).files())
    files.pop(BASE_FILE)
    return files


def stored(name: str) -> tuple[dict[str, bytes], dict[str, Verbatim]]:
    """The golden tree of example `name`: its stored files, and the verbatim copies it lists."""
    folder = GOLDEN / name
    files = {p.relative_to(folder).as_posix(): p.read_bytes()
             for p in folder.rglob("*") if p.is_file()}
    listing = files.pop(VERBATIM, b"").decode()
    verbatim = {}
    for line in listing.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        digest, mode, rel, arrow, source = line.split(" ")
        assert arrow == "<-" and source.startswith("blueprints/"), f"{folder / VERBATIM}: {line!r}"
        verbatim[rel] = Verbatim(digest, int(mode, 8), source.removeprefix("blueprints/"))
    return files, verbatim


def update() -> None:
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    root = manifest.blueprints_root()
    problems = []
    for example in EXAMPLES:
        files, verbatim = expected(example)
        if VERBATIM in files or VERBATIM in verbatim:
            problems.append(f"{example.stem}: a rendered file is named {VERBATIM}; rename the list")
        for rel, copy in verbatim.items():
            if " " in rel or " " in copy.source:
                problems.append(f"{example.stem}: {rel} (from {copy.source}): {VERBATIM} lists "
                                "paths without spaces")
            if sha256((root / copy.source).read_bytes()) != copy.sha256:
                problems.append(f"{example.stem}: {rel} is rendered with other bytes than "
                                f"blueprints/{copy.source}, which it should copy verbatim")
        for rel, content in files.items():
            path = GOLDEN / example.stem / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        lines = [copy.line(rel) for rel, copy in sorted(verbatim.items())]
        (GOLDEN / example.stem / VERBATIM).write_text(_HEADER + "".join(f"{ln}\n" for ln in lines))
    if problems:
        sys.exit("golden trees written, but they cannot pass:\n" + "\n".join(problems))
    print(f"golden trees written for {len(EXAMPLES)} examples under {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    update()
    sys.exit(0)
