"""Every role documents itself: each key of a role's defaults/main.yml is named in its README, and
the rendered variable files that hold spec values say once why those are tagged !unsafe.

Runs over every distinct rendering of the roles in the whole spec matrix."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests import matrix

UNSAFE_NOTE = "tagged !unsafe: Ansible uses them as written and never templates them"
# Every rendered Ansible file that holds spec values.
UNSAFE_FILES = ("ansible/group_vars/all.yml", "ansible/roles/mlflow_stack/defaults/main.yml",
                "ansible/roles/mlflow_stack/vars/main.yml", "ansible/roles/training/defaults/main.yml")


class _Loader(yaml.SafeLoader):
    """Reads Ansible's !unsafe tag as the plain string it marks."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def undocumented_defaults(role: Path) -> list[str]:
    """Keys of the role's defaults/main.yml that its README.md does not name as `key`."""
    defaults = yaml.load((role / "defaults" / "main.yml").read_text(), Loader=_Loader) or {}
    readme = (role / "README.md").read_text()
    return [key for key in defaults if f"`{key}`" not in readme]


def test_undocumented_defaults_finds_a_missing_key(tmp_path):
    (tmp_path / "defaults").mkdir()
    (tmp_path / "defaults" / "main.yml").write_text("---\ndemo_a: !unsafe 'x'\ndemo_b: 1\n")
    (tmp_path / "README.md").write_text("`demo_a` is documented; demo_b only in passing.\n")
    assert undocumented_defaults(tmp_path) == ["demo_b"]


def test_every_role_default_is_in_its_readme(matrix_trees):
    failures = []
    patterns = ["ansible/roles/*/defaults/main.yml", "ansible/roles/*/README.md"]
    for group in matrix.groups(matrix_trees, patterns):
        for role in sorted((group.root / "ansible" / "roles").iterdir()):
            missing = undocumented_defaults(role)
            if missing:
                failures.append(f"[{group.ids}] {role.name}/README.md does not name {missing}")
    assert not failures, "\n".join(failures)


def test_unsafe_values_are_explained_once_per_file(matrix_trees):
    failures = []
    for group in matrix.groups(matrix_trees, ["ansible/**/*.yml"]):
        tagged = [p.relative_to(group.root).as_posix() for p in (group.root / "ansible").rglob("*.yml")
                  if "!unsafe" in p.read_text()]
        assert set(tagged) <= set(UNSAFE_FILES), f"new files with !unsafe values: {tagged}"
        for rel in UNSAFE_FILES:
            text = (group.root / rel).read_text()
            if "!unsafe" in text and text.count(UNSAFE_NOTE) != 1:
                failures.append(f"[{group.ids}] {rel}: {text.count(UNSAFE_NOTE)} notes on !unsafe")
    assert not failures, "\n".join(failures)
