"""The declarative manifests: which blueprint renders to which output path, under which condition.

Each blueprint family (`blueprints/<family>/manifest.yaml`) lists its files:

    files:
      - template: main.tf.j2        # relative to the family folder
        dest: terraform/main.tf     # relative to the generated repo; fixed, no logic in names
        when: spec.site.is_baremetal   # optional Jinja expression over the render context
        mode: "0755"                # optional, default 0644
        copy: true                  # optional: ship the file verbatim, no templating

A folder of files that hold no spec values (an Ansible role, say) ships verbatim in one entry:

      - tree: roles/docker          # every file below it, copied as is, except *.j2
        dest: ansible/roles/docker
        copy: true                  # required: every entry that copies says so
        when: ...                   # optional

Each file keeps its relative path; executable files get mode 0755, the others 0644. The few
files of such a folder that do hold spec values end in `.j2` and are listed as ordinary template
entries; the loader refuses a `.j2` file inside a tree that no entry renders.

Consecutive entries under one condition are grouped instead of repeating it:

      - when: spec.accelerator == "amd"
        files:                      # any entries, trees and groups; each inner `when` is
          - tree: roles/amd_rocm    # combined with the group's (both must hold)
            dest: ansible/roles/amd_rocm
            copy: true
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path, PurePosixPath

import yaml

from . import cache as user_cache
from .errors import BlueprintError

# libyaml's parser when PyYAML was built with it: manifests are read on every render.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ALLOWED_KEYS = {"template", "tree", "dest", "when", "mode", "copy"}


@dataclass(frozen=True)
class Entry:
    family: str
    template: str  # path relative to the blueprints root, POSIX separators
    dest: str
    when: str | None = None
    mode: int = 0o644
    copy: bool = False


def blueprints_root() -> Path:
    """The installed blueprints (wheel) or the repository's own folder (source checkout)."""
    override = os.environ.get("REPRO_GEN_BLUEPRINTS")
    if override:
        return Path(override)
    here = Path(__file__).resolve().parent
    for candidate in (here / "blueprints", here.parent.parent / "blueprints"):
        if candidate.is_dir():
            return candidate
    raise BlueprintError(f"blueprints not found next to {here}; reinstall repro-gen")


def safe_relative(path: str, what: str) -> str:
    """Reject absolute paths, `..`, backslashes and empty parts in a manifest path."""
    pure = PurePosixPath(path)
    if (not path or "\\" in path or pure.is_absolute()
            or any(part in ("", ".", "..") for part in path.split("/"))):
        raise BlueprintError(f"{what} {path!r} must be a plain relative path")
    return str(pure)


def _signature(path: str) -> list[int]:
    try:
        st = os.stat(path)
    except OSError:
        return []
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size]


@cache
def load(root: Path | None = None) -> tuple[Entry, ...]:
    """Every entry of every family's manifest, in a stable order.

    The parsed result is cached with the signature of every folder of the blueprints and every
    file an entry's shape depends on (manifests, files of `tree:` folders): adding, removing,
    editing or chmod-ing any of them changes a signature, and the manifests are read again.
    """
    root = root or blueprints_root()
    name = f"manifest/{user_cache.key(user_cache.code_fingerprint(), str(root))}.json"
    cached = user_cache.read(name)
    if cached is not None:
        try:
            data = json.loads(cached)
            if all(_signature(path) == sig for path, sig in data["watched"]):
                return tuple(Entry(**e) for e in data["entries"])
        except (ValueError, TypeError, KeyError):
            pass
    entries = _load(root)
    watched = [str(root / f) for f in _tree_files(root, entries)]
    for folder, _dirs, files in os.walk(root):
        watched.append(folder)
        watched.extend(os.path.join(folder, f) for f in files if f == "manifest.yaml")
    user_cache.put(name, json.dumps({
        "watched": [[path, _signature(path)] for path in sorted(set(watched))],
        "entries": [asdict(e) for e in entries],
    }).encode())
    return entries


def _tree_files(root: Path, entries: tuple[Entry, ...]) -> list[str]:
    """Files whose mode decides an entry's (verbatim copies)."""
    return [e.template for e in entries if e.copy]


def _load(root: Path) -> tuple[Entry, ...]:
    entries: list[Entry] = []
    trees: list[str] = []
    for manifest in sorted(root.glob("*/manifest.yaml")):
        family = manifest.parent.name
        data = yaml.load(manifest.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        for item in _flatten(manifest, data.get("files", []), None):
            unknown = set(item) - _ALLOWED_KEYS
            if unknown:
                raise BlueprintError(f"{manifest}: unknown keys {sorted(unknown)} in {item}")
            if "tree" in item:
                entries.extend(_tree_entries(root, manifest, family, item))
                trees.append(f"{family}/{item['tree']}")
                continue
            template = f"{family}/{safe_relative(item['template'], 'template')}"
            if not (root / template).is_file():
                raise BlueprintError(f"{manifest}: template {template} does not exist")
            entries.append(Entry(
                family=family,
                template=template,
                dest=safe_relative(item["dest"], "dest"),
                when=item.get("when"),
                mode=int(str(item.get("mode", "0644")), 8),
                copy=bool(item.get("copy", False)),
            ))
    rendered = {e.template for e in entries}
    for folder in trees:
        for path in sorted((root / folder).rglob("*.j2")):
            template = path.relative_to(root).as_posix()
            if template not in rendered:
                raise BlueprintError(f"{template} sits in tree {folder} but no entry lists it: add a"
                                     " template entry (copy: true for an Ansible template)")
    return tuple(entries)


def _both(outer: str | None, inner: str | None) -> str | None:
    """One condition that holds when both do (either may be absent)."""
    if outer is None or inner is None:
        return inner if outer is None else outer
    return f"({outer}) and ({inner})"


def _flatten(manifest: Path, items: list, when: str | None) -> list[dict]:
    """The manifest's entries with every `when:`/`files:` group opened, its condition pushed down."""
    if not isinstance(items, list):
        raise BlueprintError(f"{manifest}: `files` must be a list of entries, not {items!r}")
    flat: list[dict] = []
    for item in items:
        if not isinstance(item, dict):
            raise BlueprintError(f"{manifest}: an entry must be a mapping, not {item!r}")
        if "files" in item:
            if set(item) != {"when", "files"}:
                raise BlueprintError(f"{manifest}: a group takes exactly `when` and `files`: {item}")
            if not item["files"]:
                raise BlueprintError(f"{manifest}: the group `when: {item['when']}` lists no files")
            flat.extend(_flatten(manifest, item["files"], _both(when, str(item["when"]))))
            continue
        if when is not None:
            item = {**item, "when": _both(when, item.get("when"))}
        flat.append(item)
    return flat


def _tree_entries(root: Path, manifest: Path, family: str, item: dict) -> list[Entry]:
    """One verbatim-copy entry per file below a `tree:` folder."""
    if set(item) - {"tree", "dest", "copy", "when"}:
        raise BlueprintError(f"{manifest}: a tree entry takes only tree, dest, copy and when: {item}")
    if item.get("copy") is not True:
        raise BlueprintError(f"{manifest}: tree {item['tree']} ships its files verbatim: say `copy: true`")
    folder = f"{family}/{safe_relative(item['tree'], 'tree')}"
    dest = safe_relative(item["dest"], "dest")
    if not (root / folder).is_dir():
        raise BlueprintError(f"{manifest}: tree {folder} is not a folder")
    entries = []
    for path in sorted(p for p in (root / folder).rglob("*") if p.is_file()):
        rel = path.relative_to(root / folder).as_posix()
        if "__pycache__" in rel.split("/") or rel.endswith(".j2"):
            continue
        executable = bool(path.stat().st_mode & 0o111)
        entries.append(Entry(family=family, template=f"{folder}/{rel}", dest=f"{dest}/{rel}",
                             when=item.get("when"), mode=0o755 if executable else 0o644,
                             copy=True))
    if not entries:
        raise BlueprintError(f"{manifest}: tree {folder} holds no files")
    return entries
