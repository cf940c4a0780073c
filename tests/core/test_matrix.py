"""Every valid combination of site × accelerator × framework × artifact store × node count renders,
and every rendered tree passes the checks that apply to all file kinds. Family-specific checks
(terraform fmt, ansible-lint, compose config) live in their own test folders and use the same
`matrix_trees` fixture."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from repro_gen import catalog
from repro_gen import spec as spec_mod
from repro_gen.errors import SpecError
from tests import matrix


def test_matrix_size_and_invalid_combinations_are_rejected_for_a_reason():
    combos = matrix.all_combos()
    valid = matrix.valid_combos()
    # 7 (site, accelerator) pairs × 5 frameworks × 2 stores × 2 node counts.
    assert len(combos) == 140
    # The one refused pairing: TensorFlow has no current ROCm build (see spec.py).
    refused = {(c.accelerator, c.framework) for c in set(combos) - set(valid)}
    assert refused == {("amd", "tensorflow")} and len(valid) == 136
    # AMD exists only at CHI@TACC: the pair is absent elsewhere, and asking for it fails clearly.
    bad = {"project": {"name": "ab-c"}, "chameleon": {"site": "CHI@UC", "node_type": "gpu_mi100"}}
    with pytest.raises(SpecError, match="only CHI@TACC has it"):
        spec_mod.validate(bad)


def test_matrix_hardware_is_what_each_site_offers():
    """Every (site, accelerator) pair the catalog offers is in the matrix, each with hardware
    that site really has (Chameleon's hardware data), never one from another site."""
    offered = {(site, accel) for site in catalog.SITES for accel in ("nvidia", "amd", "none")
               if catalog.hardware_carrying(site, accel)}
    assert set(matrix.HARDWARE) == offered
    for (site, accel), name in matrix.HARDWARE.items():
        assert name in catalog.hardware_carrying(site, accel), (site, accel, name)


class _AnyTagLoader(yaml.SafeLoader):
    """Parses Ansible's !unsafe / !vault tags as plain scalars."""


_AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node))


def _by_name(rel: str, path: Path) -> str:
    """Linters may treat a file by its name (`__init__.py`, the extension): keep names apart."""
    return path.name


def test_every_yaml_and_json_file_parses(matrix_trees):
    failures = []
    for variant in matrix.distinct_files(matrix_trees, ["*.yml", "*.yaml", "*.json"],
                                         key=lambda rel, path: rel.endswith(".json")):
        text = variant.path.read_text()
        try:
            if variant.rel.endswith(".json"):
                json.loads(text)
            else:
                list(yaml.load_all(text, Loader=_AnyTagLoader))
        except (yaml.YAMLError, ValueError) as exc:
            failures.append(f"{variant.label}: {exc}")
    assert not failures, "\n".join(failures)


def test_python_compiles_and_passes_ruff(matrix_trees):
    ruff = shutil.which("ruff")
    failures = []
    variants = matrix.distinct_files(matrix_trees, ["*.py"], key=_by_name)
    for variant in variants:
        try:
            compile(variant.path.read_text(), str(variant.path), "exec")
        except SyntaxError as exc:
            failures.append(f"{variant.label}: {exc}")
    if ruff:
        failures += [f"ruff {finding}" for finding in matrix.run_per_file(
            [ruff, "check", "--no-cache", "--isolated", "--select", "E,F,W,B", "--line-length", "110",
             "--output-format", "concise"], variants)]
    assert not failures, "\n".join(failures)


def test_shell_scripts_pass_shellcheck(matrix_trees):
    shellcheck = shutil.which("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    variants = matrix.distinct_files(matrix_trees, ["*.sh"], key=_by_name)
    failures = matrix.run_per_file([shellcheck, "--format", "gcc"], variants)
    assert not failures, "\n".join(failures)


def test_text_files_are_clean(matrix_trees):
    """LF only, a final newline, no trailing whitespace, no leftover template syntax."""
    failures = []
    leftover = re.compile(r"\[\[\s.*\s\]\]|\[%.*%\]|\[#.*#\]")
    exempt = (".json", ".py", ".sh")  # where [[ ]], [% %] or [# #] are ordinary syntax
    for variant in matrix.distinct_files(matrix_trees, ["*"],
                                         key=lambda rel, path: rel.endswith(exempt)):
        text = variant.path.read_text()
        if "\r" in text or (text and not text.endswith("\n")):
            failures.append(f"{variant.label}: line endings")
        if any(line != line.rstrip() for line in text.splitlines()):
            failures.append(f"{variant.label}: trailing whitespace")
        if not variant.rel.endswith(exempt) and leftover.search(text):
            failures.append(f"{variant.label}: leftover template delimiters")
    assert not failures, "\n".join(sorted(failures))


def test_executable_bits(matrix_trees):
    failures = []
    for variant in matrix.distinct_files(matrix_trees, ["*"],
                                         key=lambda rel, path: bool(path.stat().st_mode & 0o111)):
        executable = bool(variant.path.stat().st_mode & 0o111)
        shebang = variant.path.read_bytes()[:2] == b"#!"
        if executable != shebang:
            failures.append(f"{variant.label}: executable={executable}, shebang={shebang}")
    assert not failures, "\n".join(sorted(failures))
