"""The generated repo's `.repro-gen/`: what was rendered last, by which generator, from which spec.

`state.json` is small and read by the generated code's provenance (generator version, spec hash).
`last-render.json` keeps the exact content of every file as rendered last time: it is the common
ancestor of the three-way merge that preserves a researcher's edits on the next render.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import StateError

if TYPE_CHECKING:
    from .render import Tree

# Every name under .repro-gen/ lives here and nowhere else.
STATE_DIR = ".repro-gen"
SPEC_COPY = f"{STATE_DIR}/spec.yaml"
STATE_FILE = f"{STATE_DIR}/state.json"
BASE_FILE = f"{STATE_DIR}/last-render.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class State:
    generator_version: str = __version__
    spec_sha256: str = ""
    base: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def from_tree(cls, tree: Tree) -> State:
        return cls(__version__, sha256(tree[SPEC_COPY].content),
                   {path: f.content for path, f in tree.items()})

    def files(self) -> dict[str, bytes]:
        """The state files themselves, to be written with the rendered tree."""
        summary = {
            "generator_version": self.generator_version,
            "spec_sha256": self.spec_sha256,
            "files": {p: sha256(c) for p, c in sorted(self.base.items())},
        }
        base = {p: c.decode("utf-8") for p, c in sorted(self.base.items())}
        return {
            STATE_FILE: (json.dumps(summary, indent=2) + "\n").encode(),
            BASE_FILE: (json.dumps(base, indent=1, ensure_ascii=False) + "\n").encode(),
        }


def _load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{path} is damaged ({exc}): restore it with `git checkout -- {path.name}`"
                         f" in {path.parent}; without it every edited file becomes a conflict") from None
    if not isinstance(data, dict):
        raise StateError(f"{path} is damaged (not a JSON object): restore it from git")
    return data


def read(out_dir: Path) -> State | None:
    """The state of an earlier render into out_dir, or None for a first render."""
    summary_path, base_path = out_dir / STATE_FILE, out_dir / BASE_FILE
    if not summary_path.is_file() or summary_path.is_symlink():
        return None
    summary = _load_json(summary_path)
    base: dict[str, bytes] = {}
    if base_path.is_file() and not base_path.is_symlink():
        raw = _load_json(base_path)
        base = {p: c.encode("utf-8") for p, c in raw.items()}
    return State(summary.get("generator_version", "?"), summary.get("spec_sha256", ""), base)


def recorded_spec(out_dir: Path) -> dict[str, Any] | None:
    """The normalized spec of the last render into out_dir, or None (first render, or unreadable:
    the three-way merge then treats every file as it does today)."""
    path = out_dir / SPEC_COPY
    if not path.is_file() or path.is_symlink():
        return None
    import yaml

    try:
        data = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None
