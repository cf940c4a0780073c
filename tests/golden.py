"""Golden trees: every example rendered, byte for byte, under tests/golden/<example>/.

Regenerate only on purpose, and review the diff: `make golden`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from repro_gen.loader import load
from repro_gen.render import render
from repro_gen.state import BASE_FILE, State

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def expected_files(example: Path) -> dict[str, bytes]:
    """What a render of the example writes, minus last-render.json (a copy of the rest)."""
    tree = render(load(example))
    files = {path: f.content for path, f in tree.items()}
    files.update(State.from_tree(tree).files())
    files.pop(BASE_FILE)
    return files


def update() -> None:
    if GOLDEN.exists():
        shutil.rmtree(GOLDEN)
    for example in EXAMPLES:
        for rel, content in expected_files(example).items():
            path = GOLDEN / example.stem / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    print(f"golden trees written for {len(EXAMPLES)} examples under {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    update()
    sys.exit(0)
