#!/usr/bin/env python3
"""Is this repository still what repro-gen rendered from .repro-gen/spec.yaml?

Compares every generated file with the hash recorded at the last render and lists the ones you
have changed (fine: a re-render merges them) or deleted. Fails only when the normalized spec copy
itself was edited, because the next render would silently disagree with it: edit your own spec and
re-render instead. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".repro-gen" / "state.json"
SPEC_COPY = ".repro-gen/spec.yaml"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    if not STATE.is_file():
        print("no .repro-gen/state.json: this repository was not rendered by repro-gen")
        return 1
    state = json.loads(STATE.read_text(encoding="utf-8"))
    edited, missing = [], []
    for rel, digest in sorted(state["files"].items()):
        path = ROOT / rel
        if not path.is_file():
            missing.append(rel)
        elif sha256(path) != digest:
            edited.append(rel)
    print(f"rendered by repro-gen {state['generator_version']}, spec sha256 "
          f"{state['spec_sha256'][:12]}; {len(state['files'])} generated files")
    for label, paths in (("edited since the render", edited), ("deleted", missing)):
        if paths:
            print(f"{label}:\n  " + "\n  ".join(paths))
    if SPEC_COPY in edited or sha256(ROOT / SPEC_COPY) != state["spec_sha256"]:
        print(f"{SPEC_COPY} was edited: change your own spec and re-render instead", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
