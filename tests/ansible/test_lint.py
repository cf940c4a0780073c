"""The generated ansible/ tree is clean under yamllint and ansible-lint's production profile (no skip
list), passes `ansible-playbook --syntax-check`, and applies the roles the spec calls for.

Every check runs once per distinct ansible/ tree of the whole spec matrix; a failure names every
combination behind it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests import matrix
from tests.conftest import require, run

FIXTURE = Path(__file__).parent / "fixtures" / "terraform-inventory-3-nodes.json"


@pytest.fixture(scope="module")
def ansible_groups(matrix_trees) -> list[matrix.Group]:
    return matrix.groups(matrix_trees, ["ansible/*", "ansible/**/*", "ansible/.*"])


def _env() -> dict[str, str]:
    # No colour codes in messages; never reach Galaxy.
    return {**os.environ, "NO_COLOR": "1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}


def test_lint_configuration_is_strict(ansible_groups):
    for group in ansible_groups:
        config = yaml.safe_load((group.root / "ansible/.ansible-lint").read_text())
        assert config["profile"] == "production", group.ids
        assert config["skip_list"] == [], group.ids
        assert "warn_list" not in config and "enable_list" not in config, group.ids


def _yamllint_config(rel: str, path: Path) -> bytes:
    """The ansible/.yamllint of the tree that holds `path` (each file is linted by its own)."""
    root = Path(str(path).removesuffix(rel))
    return (root / "ansible/.yamllint").read_bytes()


def test_yamllint_is_clean(matrix_trees):
    """What `yamllint --strict .` in ansible/ lints (every *.yml, *.yaml and .yamllint below it), each
    distinct file once, with its tree's ansible/.yamllint."""
    yamllint = require("yamllint")
    variants = [v for v in matrix.distinct_files(matrix_trees, ["ansible/*"], key=_yamllint_config)
                if v.path.name.endswith((".yml", ".yaml")) or v.path.name == ".yamllint"]
    by_config: dict[bytes, list[matrix.Variant]] = {}
    for variant in variants:
        by_config.setdefault(_yamllint_config(variant.rel, variant.path), []).append(variant)
    failures = []
    for same_config in by_config.values():
        config = Path(str(same_config[0].path).removesuffix(same_config[0].rel)) / "ansible/.yamllint"
        failures += matrix.run_per_file([yamllint, "--strict", "-f", "parsable", "-c", str(config)],
                                        same_config)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_ansible_lint_production_profile_is_clean(ansible_groups):
    require("ansible-lint")
    failures = []
    for group in ansible_groups:
        proc = run(["ansible-lint", "--offline", "--nocolor", "-f", "pep8", "--profile", "production"],
                   cwd=group.root / "ansible", env=_env())
        if proc.returncode != 0 or "Profile 'production' was required, and it passed" not in proc.stderr:
            failures.append(f"[{group.ids}]\n{proc.stdout}\n{proc.stderr[-3000:]}")
    assert not failures, "\n".join(failures)


def _inventory(ansible_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / f"hosts-{abs(hash(ansible_dir))}.yml"
    proc = run(["python3", str(ansible_dir / "inventory/from_terraform.py"), str(FIXTURE), "-o", str(out)])
    assert proc.returncode == 0, proc.stderr
    return out


# Written next to site.yml for the check only: it imports statically what site.yml includes
# dynamically, which --syntax-check does not load.
STATIC_CHECK = "syntax-check-static.yml"


def _included_roles(plays: list[dict]) -> list[str]:
    """Names of the roles site.yml includes at run time (include_role), in order."""
    names = []
    for play in plays:
        for task in play.get("tasks", []) + play.get("pre_tasks", []) + play.get("post_tasks", []):
            for key in ("ansible.builtin.include_role", "include_role"):
                if key in task:
                    names.append(task[key]["name"])
    return names


def _static_check_playbook(ansible_dir: Path) -> list[dict]:
    """One play per role site.yml includes dynamically, importing it (and every task file of it,
    for what its tasks/main.yml includes dynamically in turn) statically."""
    plays = yaml.safe_load((ansible_dir / "site.yml").read_text())
    out = []
    for role in _included_roles(plays):
        tasks: list[dict] = [{"name": f"Import {role}", "ansible.builtin.import_role": {"name": role}}]
        for task_file in sorted((ansible_dir / "roles" / role / "tasks").glob("*.yml")):
            tasks.append({"name": f"Import {role}/{task_file.name}",
                          "ansible.builtin.import_tasks": str(task_file.relative_to(ansible_dir))})
        out.append({"name": f"Check {role}", "hosts": "all", "gather_facts": False, "tasks": tasks})
    return out


def test_static_check_covers_the_included_roles(example_trees):
    """The check playbook imports mlflow_stack and training, which site.yml includes at run time."""
    plays = _static_check_playbook(example_trees["minimal"] / "ansible")
    imported = [t["ansible.builtin.import_role"]["name"] for p in plays for t in p["tasks"]
                if "ansible.builtin.import_role" in t]
    assert imported == ["mlflow_stack", "training"]
    assert all(any("ansible.builtin.import_tasks" in t for t in p["tasks"]) for p in plays)


def test_site_yml_syntax_check(ansible_groups, tmp_path):
    """site.yml, and (through STATIC_CHECK) the task files of the roles it includes dynamically."""
    require("ansible-playbook")
    failures = []
    for group in ansible_groups:
        ansible_dir = group.root / "ansible"
        inventory = _inventory(ansible_dir, tmp_path)
        (ansible_dir / STATIC_CHECK).write_text(yaml.safe_dump(_static_check_playbook(ansible_dir),
                                                               sort_keys=False))
        try:
            for playbook in ["site.yml", STATIC_CHECK,
                             *(["molecule/prepare_standins.yml"]
                               if (ansible_dir / "molecule/prepare_standins.yml").exists() else [])]:
                proc = run(["ansible-playbook", "--syntax-check", "-i", str(inventory), playbook],
                           cwd=ansible_dir, env=_env())
                if proc.returncode != 0:
                    failures.append(f"[{group.ids}] {playbook}\n{proc.stdout}{proc.stderr}")
        finally:
            (ansible_dir / STATIC_CHECK).unlink()
    assert not failures, "\n".join(failures)


EXPECTED_ROLES = {
    "nvidia": ["common", "nvidia_driver", "docker", "nvidia_container_toolkit"],
    "amd": ["common", "amd_rocm", "docker"],
    "none": ["common", "docker"],
}


def test_site_yml_applies_roles_by_host_group(matrix_trees):
    parsed: dict[str, list] = {}  # each distinct site.yml is parsed once; every combination checked
    for combo, tree in matrix_trees.items():
        text = (tree / "ansible/site.yml").read_text()
        if text not in parsed:
            parsed[text] = yaml.safe_load(text)
        plays = parsed[text]
        by_hosts = [(p["hosts"], p) for p in plays]
        assert [h for h, _ in by_hosts] == ["nodes", "head", "nodes"], combo.id
        assert [r["role"] for r in plays[0]["roles"]] == EXPECTED_ROLES[combo.accelerator], combo.id
        for play, role in ((plays[1], "mlflow_stack"), (plays[2], "training")):
            (task,) = [t for t in play["tasks"] if "ansible.builtin.include_role" in t]
            assert task["ansible.builtin.include_role"]["name"] == role, combo.id
            when = task["when"] if isinstance(task["when"], list) else [task["when"]]
            assert any(f"/roles/{role}/tasks/main.yml" in w for w in when), combo.id
        shipped = {p.name for p in (tree / "ansible/roles").iterdir()}
        assert set(EXPECTED_ROLES[combo.accelerator]) <= shipped, combo.id
        unused = {"nvidia_driver", "nvidia_container_toolkit", "amd_rocm"} - set(
            EXPECTED_ROLES[combo.accelerator])
        assert not unused & shipped, f"{combo.id}: ships roles site.yml never applies: {unused & shipped}"


def test_group_vars_carry_the_spec(matrix_trees, tmp_path):
    """Ansible itself reads group_vars (with the !unsafe tags) and sees the spec's values."""
    require("ansible-inventory")
    for group in matrix.groups(matrix_trees, ["ansible/group_vars/*"]):
        ansible_dir = group.root / "ansible"
        inventory = _inventory(ansible_dir, tmp_path)
        proc = run(["ansible-inventory", "-i", str(inventory), "--playbook-dir", str(ansible_dir),
                    "--host", "study-2"], env=_env())
        assert proc.returncode == 0, proc.stderr
        hostvars = json.loads(proc.stdout)
        for combo in group.combos:
            spec = combo.spec_data()
            assert hostvars["repro_accelerator"] == combo.accelerator
            assert hostvars["repro_site"] == combo.site
            assert hostvars["repro_hardware"] == (spec["chameleon"].get("node_type")
                                                  or spec["chameleon"].get("flavor"))
            assert hostvars["repro_ssh_user"] == "cc"
        accel = group.combos[0].accelerator
        assert hostvars.get("nvidia_driver_gpu_expected", False) is (accel == "nvidia"), group.ids
        assert hostvars.get("amd_rocm_gpu_expected", False) is (accel == "amd"), group.ids
