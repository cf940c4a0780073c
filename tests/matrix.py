"""The whole matrix of spec choices: site × accelerator × framework × artifact store × node count.

Every combination the spec accepts is rendered; checks then run once per distinct set of the files
they look at (`groups`: most combinations share their Terraform, say), or, for checks that look at
one file at a time, once per distinct file content (`distinct_files`), and name every combination
behind a failure.
"""

from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro_gen import catalog, project
from repro_gen import spec as spec_mod
from repro_gen.errors import SpecError
from repro_gen.state import BASE_FILE, STATE_FILE

# One representative node type or flavor per (site, accelerator) the catalog offers
# (tests/core/test_matrix.py checks each is offered there and that no pair is missing).
HARDWARE: dict[tuple[str, str], str] = {
    ("CHI@UC", "nvidia"): "gpu_rtx_6000",
    ("CHI@UC", "none"): "compute_cascadelake_r",
    ("CHI@TACC", "nvidia"): "gpu_h100",
    ("CHI@TACC", "amd"): "gpu_mi100",
    ("CHI@TACC", "none"): "compute_zen3",
    ("KVM@TACC", "nvidia"): "g1.h100.pci.1",
    ("KVM@TACC", "none"): "m1.large",
}
NODE_COUNTS = (1, 2)


@dataclass(frozen=True)
class Combo:
    site: str
    accelerator: str
    framework: str
    artifact_store: str
    node_count: int

    @property
    def id(self) -> str:
        site = self.site.replace("@", "-").lower()
        return (f"{site}-{self.accelerator}-{self.framework}-{self.artifact_store}"
                f"-n{self.node_count}")

    def spec_data(self) -> dict[str, Any]:
        hw = HARDWARE[(self.site, self.accelerator)]
        baremetal = catalog.SITES[self.site].is_baremetal
        chameleon: dict[str, Any] = {"site": self.site, "node_count": self.node_count}
        if baremetal:
            chameleon["node_type"] = hw
        else:
            chameleon.update(flavor=hw, ssh_cidrs=["198.51.100.0/24"])
        return {
            "version": 1,
            "project": {"name": "matrix-study"},
            "chameleon": chameleon,
            "accelerator": self.accelerator,
            "training": {"framework": self.framework},
            "tracking": {"artifact_store": self.artifact_store},
            # With the molecule scenarios, the superset of what a spec renders: the ansible and
            # molecule checks run over them (tests/ansible/test_molecule.py checks what a spec without
            # them leaves out).
            "integrations": {"molecule": True},
        }


def all_combos() -> list[Combo]:
    """Every combination of the matrix's axes (valid or not)."""
    sites = {site for site, _ in HARDWARE}
    return [
        Combo(site, accel, fw, store, n)
        for site, accel, fw, store, n in itertools.product(
            sorted(sites), ("nvidia", "amd", "none"), catalog.FRAMEWORKS,
            catalog.ARTIFACT_STORES, NODE_COUNTS)
        if (site, accel) in HARDWARE
    ]


def valid_combos() -> list[Combo]:
    out = []
    for combo in all_combos():
        try:
            spec_mod.validate(combo.spec_data())
        except SpecError:
            continue
        out.append(combo)
    return out


def render_into(combo: Combo, out_dir: Path) -> Path:
    project.render_into(spec_mod.validate(combo.spec_data()), out_dir)
    return out_dir


def rendered_files(root: Path) -> list[Path]:
    """The files repro-gen wrote into `root` (per its state file), not what tests added since."""
    state = json.loads((root / STATE_FILE).read_text())
    return sorted(root / rel for rel in [*state["files"], STATE_FILE, BASE_FILE])


@dataclass
class Group:
    """Combinations whose selected files are byte-identical; `root` is one of their trees."""

    root: Path
    combos: list[Combo]

    @property
    def ids(self) -> str:
        names = [c.id for c in self.combos]
        if len(names) <= 4:
            return ", ".join(names)
        return f"{len(names)} combinations: {', '.join(names[:3])}, ..."


def groups(trees: dict[Combo, Path], patterns: Iterable[str]) -> list[Group]:
    """Group rendered trees by the content of the files matching any of `patterns`."""
    patterns = tuple(patterns)
    by_digest: dict[str, Group] = {}
    for combo, root in trees.items():
        digest = hashlib.sha256()
        for path in rendered_files(root):
            rel = path.relative_to(root).as_posix()
            if any(fnmatch.fnmatch(rel, pat) for pat in patterns):
                digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
        key = digest.hexdigest()
        if key in by_digest:
            by_digest[key].combos.append(combo)
        else:
            by_digest[key] = Group(root, [combo])
    return list(by_digest.values())


def one_per(groups_: list[Group], key) -> list[Group]:
    """The first group for each value of key(combo): for checks so slow that running them once per
    code path (e.g. per accelerator) is the budget, where the groups left out differ only in values
    (a site's URL, a node type's name) that faster checks cover over the whole matrix."""
    seen: dict[object, Group] = {}
    for group in groups_:
        value = key(group.combos[0])
        if value not in seen:
            seen[value] = group
    return list(seen.values())


def _names(combos: list[Combo], total: int) -> str:
    """Every combination's id, or "all N combinations" when they are all the trees checked."""
    ids = sorted({c.id for c in combos})
    if len(ids) == total > 4:
        return f"all {total} combinations"
    return ", ".join(ids)


@dataclass
class Variant:
    """One distinct content of a file (plus whatever else the check depends on, see
    `distinct_files`): `path` is one copy of it, `where` every (combination, relative path) that
    renders it."""

    path: Path
    rel: str
    where: list[tuple[Combo, str]]
    total: int  # how many trees were looked at

    @property
    def label(self) -> str:
        """Each relative path this content is rendered at, with every combination behind it."""
        by_rel: dict[str, list[Combo]] = {}
        for combo, rel in self.where:
            by_rel.setdefault(rel, []).append(combo)
        return "; ".join(f"{rel} [{_names(combos, self.total)}]" for rel, combos in sorted(by_rel.items()))


def distinct_files(trees: dict[Combo, Path], patterns: Iterable[str],
                   key: Callable[[str, Path], object] | None = None) -> list[Variant]:
    """The rendered files matching any of `patterns`, one `Variant` per distinct content.

    For a check whose outcome depends on more than the bytes (the file name, its mode), `key`
    returns that extra part from (relative path, path); files are then the same variant only when
    both the content and the key agree.
    """
    patterns = tuple(patterns)
    by_digest: dict[tuple[str, object], Variant] = {}
    for combo, root in trees.items():
        for path in rendered_files(root):
            rel = path.relative_to(root).as_posix()
            if not any(fnmatch.fnmatch(rel, pat) for pat in patterns):
                continue
            digest = (hashlib.sha256(path.read_bytes()).hexdigest(), key(rel, path) if key else None)
            if digest in by_digest:
                by_digest[digest].where.append((combo, rel))
            else:
                by_digest[digest] = Variant(path, rel, [(combo, rel)], len(trees))
    return list(by_digest.values())


def run_per_file(argv: list[str], variants: list[Variant], **kwargs: Any) -> list[str]:
    """Run a linter that judges each file on its own once over one copy of each variant; the
    findings, each under the label of the variant it is about (the linter's report lines must start
    with the copy's path, as in `path:line:col: ...`). A failure that names no file is reported
    with every variant it ran on."""
    if not variants:
        return []
    out = subprocess.run([*argv, *(str(v.path) for v in variants)], capture_output=True, text=True,
                         **kwargs)
    if out.returncode == 0:
        return []
    report = out.stdout + out.stderr
    found: dict[int, list[str]] = {}
    for line in report.splitlines():
        for i, variant in enumerate(variants):
            if line.startswith(f"{variant.path}:"):
                found.setdefault(i, []).append(line)
    if not found:
        return [f"{argv[0]} failed ({out.returncode}) on "
                f"{'; '.join(v.label for v in variants)}:\n{report}"]
    return [f"{variants[i].label}:\n" + "\n".join(lines) for i, lines in sorted(found.items())]
