"""Human-readable summaries of a render."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .write import STATUSES, UNCHANGED, Action


def summary_table(actions: list[Action], out_dir: Path, dry_run: bool) -> str:
    """Changed files one per line, then a count per status."""
    lines = []
    for action in actions:
        if action.status != UNCHANGED:
            note = f"  ({action.note})" if action.note else ""
            lines.append(f"  {action.status:<11} {action.path}{note}")
    counts = Counter(a.status for a in actions)
    totals = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    head = f"{'would render' if dry_run else 'rendered'} into {out_dir}: {totals or 'nothing'}"
    return "\n".join([head, *lines])
