"""ops/project.json: the one project-specific file of the package, rendered from the spec; the
make variables, read from the environment with their defaults; and the package's file list,
which the mlflow_stack role ships to the head node."""

from __future__ import annotations

import json

import pytest

from repro_gen import context
from repro_gen import spec as spec_mod
from tests import matrix


def test_project_json_is_the_context_of_the_spec_over_the_matrix(matrix_trees):
    for group in matrix.groups(matrix_trees, ("ops/project.json",)):
        rendered = json.loads((group.root / "ops" / "project.json").read_text())
        for combo in group.combos:
            spec = spec_mod.validate(combo.spec_data())
            assert rendered == context.ops_settings(spec), combo.id
            assert rendered["backups"]["enabled"] == spec.tracking.backups
            env_files = rendered["training"]["env_files"]
            assert ("compose/.env.train.secrets" in env_files) == spec.integrations.huggingface


def test_the_role_ships_every_file_of_the_package(example_trees):
    for name, tree in example_trees.items():
        files = sorted(p.name for p in (tree / "ops").iterdir() if p.is_file())
        assert sorted(context.OPS_FILES) == [f for f in files if f != "requirements.txt"], name
        defaults = (tree / "ansible/roles/mlflow_stack/defaults/main.yml").read_text()
        assert all(f"  - path: ops/{f}\n" in defaults for f in context.OPS_FILES), name


def test_modules_ship_verbatim(example_trees):
    """Only project.json differs between projects: the modules are the blueprint's bytes."""
    minimal, kvm = example_trees["minimal"] / "ops", example_trees["cpu-sklearn-kvm"] / "ops"
    for path in sorted(minimal.glob("*.py")):
        assert path.read_bytes() == (kvm / path.name).read_bytes(), path.name
    assert (minimal / "project.json").read_text() != (kvm / "project.json").read_text()


@pytest.mark.parametrize(("value", "expected"), [(None, "6"), ("", "6"), ("  ", "6"), ("0", "0")])
def test_a_make_variable_left_empty_takes_its_default(ops, value, expected):
    environ = {} if value is None else {"BACKUP_MAX_AGE_HOURS": value}
    assert ops.settings.knob("BACKUP_MAX_AGE_HOURS", environ) == expected


def test_make_variables_come_from_the_environment(ops, monkeypatch):
    monkeypatch.setenv("TERRAFORM", "/opt/tf/terraform")
    assert ops.settings.knob("TERRAFORM") == "/opt/tf/terraform"
    assert ops.settings.knob("ARGS") == ""


def test_a_missing_or_broken_settings_file_says_to_re_render(ops):
    path = ops.repo / "ops" / "project.json"
    path.write_text("{")
    with pytest.raises(ops.steps.OpsError, match=r"not valid JSON.*re-render"):
        ops.settings.load(path)
    path.unlink()
    with pytest.raises(ops.steps.OpsError, match="missing; re-render"):
        ops.settings.load(path)


def test_the_package_finds_its_repository_from_its_own_path(ops):
    assert ops.repo == ops.settings.ROOT
    assert ops.settings.project()["project"] == "minimal-study"
