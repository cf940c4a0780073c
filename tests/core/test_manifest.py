"""The manifest format: templates, verbatim copies, whole folders, conditions, and its guards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repro_gen import manifest
from repro_gen import spec as spec_mod
from repro_gen.errors import BlueprintError
from repro_gen.render import render

SPEC = spec_mod.validate({"project": {"name": "manifest-study"}})


def blueprints(tmp_path: Path, manifest_text: str, files: dict[str, str]) -> Path:
    root = tmp_path / "bp"
    for rel, text in {**files, "fam/manifest.yaml": manifest_text}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    manifest.load.cache_clear()
    return root


def test_tree_copies_every_file_verbatim_with_modes(tmp_path):
    root = blueprints(tmp_path, "files:\n  - tree: role\n    dest: out/role\n    copy: true\n", {
        "fam/role/tasks/main.yml": "- name: keep {{ ansible }} and [[ brackets ]]\n",
        "fam/role/files/run.sh": "#!/bin/sh\necho hi\n",
    })
    os.chmod(root / "fam/role/files/run.sh", 0o755)
    tree = render(SPEC, root)
    assert tree["out/role/tasks/main.yml"].content == b"- name: keep {{ ansible }} and [[ brackets ]]\n"
    assert tree["out/role/tasks/main.yml"].mode == 0o644
    assert tree["out/role/files/run.sh"].mode == 0o755


def test_tree_respects_its_condition(tmp_path):
    root = blueprints(tmp_path, "files:\n  - tree: role\n    dest: out/role\n    copy: true\n"
                      "    when: spec.accelerator == 'amd'\n", {"fam/role/a.yml": "a: 1\n"})
    assert "out/role/a.yml" not in render(SPEC, root)


def test_a_group_puts_its_condition_on_every_entry_in_it(tmp_path):
    root = blueprints(tmp_path, "files:\n"
                      "  - when: spec.accelerator == 'nvidia'\n"
                      "    files:\n"
                      "      - template: a.j2\n        dest: out/a\n"
                      "      - tree: role\n        dest: out/role\n        copy: true\n"
                      "      - template: b.j2\n        dest: out/b\n"
                      "        when: spec.training.framework == 'sklearn'\n"
                      "  - template: c.j2\n    dest: out/c\n",
                      {"fam/a.j2": "a\n", "fam/b.j2": "b\n", "fam/c.j2": "c\n",
                       "fam/role/r.yml": "r: 1\n"})
    entries = {e.dest: e for e in manifest.load(root)}
    assert entries["out/a"].when == entries["out/role/r.yml"].when == "spec.accelerator == 'nvidia'"
    # An inner condition narrows the group's: both must hold.
    assert entries["out/b"].when == ("(spec.accelerator == 'nvidia') and "
                                     "(spec.training.framework == 'sklearn')")
    assert entries["out/c"].when is None
    nvidia = render(SPEC, root)  # the minimal spec's default node carries NVIDIA GPUs, pytorch
    assert {"out/a", "out/role/r.yml", "out/c"} <= set(nvidia) and "out/b" not in nvidia
    cpu = render(spec_mod.validate({"project": {"name": "manifest-study"}, "accelerator": "none",
                                    "chameleon": {"node_type": "compute_cascadelake_r"}}), root)
    assert set(cpu) & {"out/a", "out/b", "out/role/r.yml"} == set() and "out/c" in cpu


@pytest.mark.parametrize(("text", "message"), [
    ("files:\n  - template: missing.j2\n    dest: x\n", "does not exist"),
    ("files:\n  - template: a.j2\n    dest: ../x\n", "plain relative path"),
    ("files:\n  - template: a.j2\n    dest: /etc/x\n", "plain relative path"),
    ("files:\n  - template: a.j2\n    dest: x\n    colour: red\n", "unknown keys"),
    ("files:\n  - tree: nowhere\n    dest: x\n    copy: true\n", "not a folder"),
    ("files:\n  - tree: role\n    dest: x\n    copy: true\n    mode: '0755'\n",
     "only tree, dest, copy and when"),
    ("files:\n  - tree: role\n    dest: x\n", "say `copy: true`"),
    ("files:\n  - when: 'true'\n    dest: x\n    files:\n      - template: a.j2\n        dest: x\n",
     "exactly `when` and `files`"),
    ("files:\n  - when: 'true'\n    files: []\n", "lists no files"),
])
def test_broken_manifests_are_blueprint_errors(tmp_path, text, message):
    root = blueprints(tmp_path, text, {"fam/a.j2": "a\n", "fam/role/b": "b\n"})
    with pytest.raises(BlueprintError, match=message):
        render(SPEC, root)


def test_two_entries_may_not_claim_one_file(tmp_path):
    root = blueprints(tmp_path, "files:\n  - template: a.j2\n    dest: x\n"
                      "  - template: b.j2\n    dest: x\n", {"fam/a.j2": "a\n", "fam/b.j2": "b\n"})
    with pytest.raises(BlueprintError, match="rendered by both"):
        render(SPEC, root)


def test_undefined_variables_fail_loudly(tmp_path):
    root = blueprints(tmp_path, "files:\n  - template: a.j2\n    dest: x\n",
                      {"fam/a.j2": "[[ spec.no_such_field ]]\n"})
    with pytest.raises(BlueprintError, match="no_such_field"):
        render(SPEC, root)


def test_templates_cannot_reach_unsafe_attributes(tmp_path):
    root = blueprints(tmp_path, "files:\n  - template: a.j2\n    dest: x\n",
                      {"fam/a.j2": "[[ spec.__class__.__init__.__globals__ ]]\n"})
    with pytest.raises(BlueprintError):
        render(SPEC, root)


def test_template_inside_a_tree_must_be_listed(tmp_path):
    files = {"fam/role/a.yml": "a: 1\n", "fam/role/molecule.yml.j2": "name: [[ spec.project.name ]]\n"}
    root = blueprints(tmp_path, "files:\n  - tree: role\n    dest: out\n    copy: true\n", files)
    with pytest.raises(BlueprintError, match="no entry lists it"):
        render(SPEC, root)
    root = blueprints(tmp_path, "files:\n  - tree: role\n    dest: out\n    copy: true\n"
                      "  - template: role/molecule.yml.j2\n    dest: out/molecule.yml\n", files)
    tree = render(SPEC, root)
    assert tree["out/molecule.yml"].content == b"name: manifest-study\n"
    assert "out/molecule.yml.j2" not in tree
