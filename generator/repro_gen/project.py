"""The library entry point: render a spec into a directory, as `repro-gen render` does.

`render` (pure) turns the spec into files; `write` plans and applies them; this module ties the
two together with the checks that need both: that the directory holds this project, and that the
user cache is written only by a real render.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import cache, state, write
from .errors import ProjectMismatchError
from .render import Tree, render

if TYPE_CHECKING:
    from .spec import Spec
    from .specdata import SpecRecord

# What makes a rendered repository another project's: rendering over it would replace it.
IDENTITY = (("project", "name"), ("chameleon", "site"))


@dataclass(frozen=True)
class Result:
    out: Path
    tree: Tree
    actions: list[write.Action]
    dry_run: bool

    @property
    def conflicts(self) -> list[str]:
        return [a.path for a in self.actions if a.status == write.CONFLICT]


def differences(spec: Spec | SpecRecord, out: Path) -> list[tuple[str, object, object]]:
    """(field, value recorded in out, value in spec) for each identity field that differs."""
    recorded = state.recorded_spec(out)
    if recorded is None:
        return []
    new = spec.normalized()
    found = []
    for section, name in IDENTITY:
        old_value = (recorded.get(section) or {}).get(name) if isinstance(
            recorded.get(section), dict) else None
        new_value = new[section][name]
        if old_value is not None and old_value != new_value:
            found.append((f"{section}.{name}", old_value, new_value))
    return found


def render_into(spec: Spec | SpecRecord, out: str | Path, force: bool = False,
                dry_run: bool = False) -> Result:
    """Render spec into out: create it, or update it and merge the user's edits (see `write`).

    Raises ProjectMismatchError when out holds another project (unless `force`); conflicts are
    returned in the result, not raised. A dry run writes nothing, not even the user cache.
    """
    out = Path(out)
    if not force:
        found = differences(spec, out)
        if found:
            raise ProjectMismatchError(str(out), found)
    tree = render(spec)
    actions = write.plan(out, tree, force=force)
    if dry_run:
        cache.discard()
    else:
        write.apply(out, tree, actions)
        cache.save()
    return Result(out, tree, actions, dry_run)
