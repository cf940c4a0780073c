"""The training pins (generator/repro_gen/pins.py): the spec offers exactly the Pythons every pinned
package has wheels for, refuses others with the field and the fix, the rendered requirement files
carry the table's versions, and (slow, needs PyPI) the table's wheel facts match PyPI."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

from repro_gen import context, pins
from repro_gen.errors import SpecError
from repro_gen.spec import Training, validate
from tests import matrix


def test_spec_offers_exactly_the_pythons_every_pin_has_wheels_for():
    offered = typing.get_args(Training.model_fields["python"].annotation)
    assert offered == pins.supported_pythons()
    assert set(offered) <= set(context.PYTHON_IMAGE_TAGS)
    for python in offered:
        assert pins.without_wheels(python) == []


def test_python_without_wheels_is_refused_naming_the_field_and_the_fix():
    data = {"version": 1, "project": {"name": "py-old"},
            "chameleon": {"site": "CHI@UC", "node_type": "compute_cascadelake_r"},
            "training": {"framework": "sklearn", "python": "3.10"}}
    with pytest.raises(SpecError) as err:
        validate(data)
    text = str(err.value)
    assert "training.python" in text
    assert "numpy==2.4.6" in text and "scikit-learn==1.9.1" in text
    assert "set training.python to 3.11 or 3.12" in text


def test_rendered_requirements_carry_the_table_versions(matrix_trees):
    for group in matrix.groups(matrix_trees, ["training/requirements*.txt"]):
        for name in ("requirements.txt", "requirements-local.txt"):
            for line in (group.root / "training" / name).read_text().splitlines():
                if "==" not in line or line.startswith("#"):
                    continue
                package, version = line.split("==")
                package = {"tensorflow-cpu": "tensorflow"}.get(package.split("[")[0], package.split("[")[0])
                assert version.split("+")[0] == pins.version(package), f"{group.ids}: {name}: {line}"


def _pypi_versions(name: str, python: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name, "--only-binary=:all:",
         "--python-version", python, "--implementation", "cp",
         "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_27_x86_64",
         "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
         "--platform", "any"],
        capture_output=True, text=True, timeout=120)
    for line in done.stdout.splitlines():
        if line.startswith("Available versions:"):
            return {v.strip() for v in line.split(":", 1)[1].split(",")}
    return set()


@pytest.mark.slow
def test_wheel_table_matches_pypi():
    """Needs PyPI (pip index versions reads its file lists). Skips when it cannot be reached."""
    if not _pypi_versions("pyyaml", "3.11"):
        pytest.skip("PyPI is not reachable from here")
    wrong = []
    for name, pin in pins.PINS.items():
        for python in pins.CHECKED_PYTHONS:
            has_wheel = pin.version in _pypi_versions(name, python)
            if has_wheel != (python in pin.pythons):
                wrong.append(f"{name}=={pin.version} on Python {python}: PyPI wheel {has_wheel}")
    assert not wrong, "\n".join(wrong)

