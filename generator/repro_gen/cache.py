"""The per-user cache, `~/.cache/repro-gen` (or `$XDG_CACHE_HOME/repro-gen`): what does not change
between runs — compiled templates and manifest conditions, the parsed manifests, validated specs.

Anything may read it; writes wait in memory until the command calls `save()`, so `render` and
`load` stay pure and a dry run writes nothing anywhere. Entries are keyed by what they depend on
(the generator's code, the blueprint files, the spec text), so a stale entry is never served.
REPRO_GEN_NO_CACHE=1 turns it off.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from functools import cache
from pathlib import Path

from . import __version__

_pending: dict[str, bytes] = {}


def directory() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    if os.environ.get("REPRO_GEN_NO_CACHE") == "1":
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "repro-gen" / __version__


def key(*parts: str) -> str:
    """A file name for an entry that depends on exactly these parts."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


@cache
def code_fingerprint() -> str:
    """Changes whenever any module of repro-gen changes (an upgrade, an edit in a checkout), and
    with the Python that runs it."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = [here, sys.implementation.cache_tag or "", __version__]
    with os.scandir(here) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py"):
                st = entry.stat()
                parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    return key(*parts)


def read(name: str) -> bytes | None:
    """A cached entry (`kind/key`), or None."""
    if name in _pending:
        return _pending[name]
    folder = directory()
    if folder is None:
        return None
    try:
        with open(folder / name, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def put(name: str, data: bytes) -> None:
    """Remember an entry; it reaches the disk with the next `save()`."""
    if directory() is not None:
        _pending[name] = data


def save() -> None:
    """Write the entries this run added. A cache that cannot be written only costs speed."""
    folder = directory()
    pending = dict(_pending)
    _pending.clear()
    if folder is None:
        return
    for name, data in pending.items():
        path = folder / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except OSError:
            continue


def discard() -> None:
    """Forget what this run would have written (a dry run)."""
    _pending.clear()
