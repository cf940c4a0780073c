"""The only module that touches the destination: plan, then apply, a render into a directory.

For each file the plan compares three versions: what was rendered last time (base), what is on
disk (yours), and what the generator renders now (new). Untouched files follow the generator;
edited files are merged three ways; overlaps leave conflict markers and are reported. Nothing is
overwritten without `force`, and no write leaves the output directory or follows a symlink.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import state as state_mod
from .errors import UnsafePathError
from .manifest import safe_relative

if TYPE_CHECKING:
    from .render import RenderedFile, Tree

# Status of a file in the plan, in the order the summary table lists them.
CREATED, UPDATED, MERGED, OVERWRITTEN, REMOVED, CONFLICT, KEPT, UNCHANGED = (
    "created", "updated", "merged", "overwritten", "removed", "conflict", "kept", "unchanged")
STATUSES = (CREATED, UPDATED, MERGED, OVERWRITTEN, REMOVED, CONFLICT, KEPT, UNCHANGED)


@dataclass(frozen=True)
class Action:
    path: str
    status: str
    old: bytes | None  # on disk now
    new: bytes | None  # to be written (None: delete or leave alone)
    mode: int = 0o644
    note: str = ""

    @property
    def writes(self) -> bool:
        return self.status in (CREATED, UPDATED, MERGED, OVERWRITTEN, CONFLICT, REMOVED)


def target(out_dir: Path, rel: str, checked: set[str] | None = None) -> Path:
    """The absolute path for rel inside out_dir, refusing anything that escapes it.

    `checked` holds the folders already found not to be links during one plan or apply, so that
    each is looked at once rather than once per file below it.
    """
    rel = safe_relative(rel, "output path") if rel else rel
    path = str(out_dir)
    parts = rel.split("/")
    for i, part in enumerate(parts):
        path = os.path.join(path, part)
        last = i == len(parts) - 1
        if not last and checked is not None and path in checked:
            continue
        if os.path.islink(path):
            raise UnsafePathError(f"{path} is a symbolic link; repro-gen never writes through links")
        if not last and checked is not None and os.path.isdir(path):
            checked.add(path)
    if os.path.exists(path) and not os.path.isfile(path):
        raise UnsafePathError(f"{path} exists and is not a regular file")
    return Path(path)


def _read(out_dir: Path, rel: str, checked: set[str] | None = None) -> bytes | None:
    path = target(out_dir, rel, checked)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


# How a conflict is marked: the user's side first, then the generator's.
YOURS, OURS = "your edit", "repro-gen"
START_MARKER, END_MARKER = f"<<<<<<< {YOURS}", f">>>>>>> {OURS}"


def has_conflict_markers(content: bytes) -> bool:
    """True while a file still holds the markers of a conflict an earlier render left."""
    lines = content.decode(errors="replace").splitlines()
    return any(ln.startswith(START_MARKER) for ln in lines) and any(
        ln.startswith(END_MARKER) for ln in lines)


def merge(base: bytes, yours: bytes, new: bytes) -> tuple[bytes, bool]:
    """Three-way merge; returns (content, had_conflicts). Conflicts keep both sides, marked."""
    import merge3

    m = merge3.Merge3(base.decode().splitlines(True), yours.decode().splitlines(True),
                      new.decode().splitlines(True))
    conflicted = any(region[0] == "conflict" for region in m.merge_regions())
    lines = m.merge_lines(name_a=YOURS, name_b=OURS, start_marker="<<<<<<<",
                          mid_marker="=======", end_marker=">>>>>>>")
    return "".join(lines).encode(), conflicted


def plan(out_dir: Path, tree: Tree, force: bool = False) -> list[Action]:
    previous = state_mod.read(out_dir) if out_dir.exists() else None
    base = previous.base if previous else {}
    actions: list[Action] = []
    checked: set[str] = set()
    for rel, rendered in tree.items():
        actions.append(_plan_file(out_dir, rel, rendered, base.get(rel), force, checked))
    for rel in sorted(set(base) - set(tree)):
        old = _read(out_dir, rel, checked)
        if old is None:
            continue
        if old == base[rel] or force:
            actions.append(Action(rel, REMOVED, old, None, note="no longer generated"))
        else:
            actions.append(Action(rel, KEPT, old, None, note="no longer generated; you edited it"))
    return actions


def _plan_file(out_dir: Path, rel: str, rendered: RenderedFile, base: bytes | None,
               force: bool, checked: set[str]) -> Action:
    new, mode = rendered.content, rendered.mode
    old = _read(out_dir, rel, checked)
    if old is None:
        if base is not None and not force:
            return Action(rel, KEPT, None, None, mode, "you deleted it; --force restores it")
        return Action(rel, CREATED, None, new, mode)
    if old == new:
        return Action(rel, UNCHANGED, old, None, mode)
    if force:
        return Action(rel, OVERWRITTEN, old, new, mode)
    if has_conflict_markers(old):
        # The base already moved on when the markers were written: left alone, the file would
        # look like an ordinary edit from now on. It stays a conflict until resolved.
        return Action(rel, CONFLICT, old, None, mode, "unresolved conflict markers from a render")
    if base is not None and old == base:
        return Action(rel, UPDATED, old, new, mode)
    if base is not None and new == base:
        return Action(rel, KEPT, old, None, mode, "your edit; the generator did not change it")
    try:
        merged, conflicted = merge(base or b"", old, new)
    except UnicodeDecodeError:
        return Action(rel, CONFLICT, old, None, mode, "not UTF-8 text, so not merged; left as it is")
    if conflicted:
        note = "edited by you and by the generator" if base is not None else "file was not ours"
        return Action(rel, CONFLICT, old, merged, mode, note)
    return Action(rel, MERGED, old, merged, mode)


def _atomic_write(path: Path, content: bytes, mode: int) -> None:
    # Write-then-rename: a reader (or a crash) sees the old file or the new one, never half of
    # one. No fsync per file: it cost most of a render's time, and the state files are written
    # last, so a render cut short by a power loss is simply run again.
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".repro-gen-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _create(path: Path, content: bytes, mode: int) -> None:
    """A file the plan found absent: created in place, and only if it is still absent.

    No temporary file and rename: nothing can read a half-written new file as ours, since the
    state files that would claim it are written last. O_EXCL refuses a file (or a link) that
    appeared since the plan; a failed write removes what it began.
    """
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except FileExistsError:
        raise UnsafePathError(f"{path} appeared while rendering; run the render again") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # exactly mode, whatever the umask
            fh.write(content)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def apply(out_dir: Path, tree: Tree, actions: list[Action]) -> None:
    """Carry out a plan, then record this render as the base of the next one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    checked: set[str] = set()  # re-checked: the disk may have changed since plan
    for action in actions:
        if action.status == REMOVED:
            target(out_dir, action.path, checked).unlink()
        elif action.status == CREATED and action.old is None:
            _create(target(out_dir, action.path, checked), action.new, action.mode)
        elif action.writes and action.new is not None:
            _atomic_write(target(out_dir, action.path, checked), action.new, action.mode)
    # Only what changes is written: an unchanged re-render leaves the state files alone too.
    for rel, content in state_mod.State.from_tree(tree).files().items():
        if _read(out_dir, rel, checked) != content:
            _atomic_write(target(out_dir, rel, checked), content, 0o644)


def diff(action: Action) -> str:
    import difflib

    old = (action.old or b"").decode(errors="replace").splitlines(True)
    new_bytes = action.new if action.new is not None else (b"" if action.status == REMOVED
                                                            else action.old or b"")
    new = new_bytes.decode(errors="replace").splitlines(True)
    return "".join(difflib.unified_diff(old, new, f"a/{action.path}", f"b/{action.path}"))
