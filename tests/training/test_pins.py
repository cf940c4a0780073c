"""The training pins (generator/repro_gen/pins.py): the spec offers exactly the Pythons every pinned
package has wheels for, refuses others with the field and the fix, the rendered requirement files
carry the table's versions, and (slow, needs PyPI) the table's wheel facts match PyPI."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest
import yaml

from repro_gen import context, pins
from repro_gen.errors import SpecError
from repro_gen.spec import Training, validate
from tests import matrix
from tests.conftest import ROOT


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



def test_every_version_a_generated_file_names_comes_from_pins(example_trees):
    """pins.py is the one table of versions: the ops tools, the lease clients, the Ansible
    collections, the provider and the images rendered into the repository all come from it, and
    the MLflow server's lock agrees with it (bumping MLflow: one edit in pins.py, then re-lock)."""
    root = ROOT / "blueprints" / "tracking" / "docker" / "mlflow" / "requirements.txt"
    lock = dict(line.split("==") for line in root.read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert lock["mlflow"] == pins.version("mlflow")
    assert lock["boto3"] == pins.OPS_TOOLS["boto3"]
    for tree in example_trees.values():
        # tools/requirements.txt includes ops/requirements.txt (the lease clients, boto3).
        ops = (tree / "ops/requirements.txt").read_text()
        tools = (tree / "tools/requirements.txt").read_text() + ops
        assert "-r ../ops/requirements.txt\n" in tools
        assert all(f"{name}=={v}\n" in tools for name, v in pins.OPS_TOOLS.items())
        assert all(f"{name}=={v}\n" in ops for name, v in pins.LEASE_TOOLS.items())
        collections = yaml.safe_load((tree / "ansible/requirements.yml").read_text())["collections"]
        assert {c["name"]: c["version"] for c in collections} == pins.ANSIBLE_COLLECTIONS
        versions_tf = (tree / "terraform/versions.tf").read_text()
        assert f'version = "{pins.OPENSTACK_PROVIDER[1]}"' in versions_tf
        assert f'required_version = "{pins.TERRAFORM_VERSION}"' in versions_tf
        compose = (tree / "compose/tracking.yml").read_text()
        assert f'-mlflow:{pins.version("mlflow")}"' in compose
        for image in pins.SERVICE_IMAGES.values():
            if image.startswith("postgres") or "artifact_store: minio" in \
                    (tree / ".repro-gen/spec.yaml").read_text():
                assert f'image: "{image}"' in compose, image
