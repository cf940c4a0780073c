"""Re-rendering keeps the researcher's edits, reports conflicts, and never writes outside the tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from repro_gen.cli import main
from repro_gen.errors import UnsafePathError
from repro_gen.state import BASE_FILE, STATE_FILE

SPEC = {"version": 1, "project": {"name": "merge-study", "description": "alpha"}}


def write_spec(tmp_path: Path, **project) -> Path:
    data = {**SPEC, "project": {**SPEC["project"], **project}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def render(spec: Path, out: Path, *extra: str):
    return CliRunner().invoke(main, ["render", str(spec), "-o", str(out), *extra])


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_first_render_creates_files_and_state(tmp_path):
    out = tmp_path / "repo"
    result = render(write_spec(tmp_path), out)
    assert result.exit_code == 0, result.output
    assert "created" in result.output and "README.md" in result.output
    assert (out / STATE_FILE).is_file() and (out / BASE_FILE).is_file()
    assert (out / ".gitignore").read_text().startswith("# Secrets")


def test_second_render_changes_nothing(tmp_path):
    spec, out = write_spec(tmp_path), tmp_path / "repo"
    render(spec, out)
    before = snapshot(out)
    result = render(spec, out)
    assert result.exit_code == 0
    assert "unchanged" in result.output and "created" not in result.output
    assert snapshot(out) == before


def test_untouched_files_follow_the_spec(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    result = render(write_spec(tmp_path, description="second"), out)
    assert result.exit_code == 0
    assert "updated" in result.output
    assert "second" in (out / "README.md").read_text()


def test_user_edit_survives_a_rerender_that_changes_another_part(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    readme = out / "README.md"
    readme.write_text(readme.read_text() + "\n## My notes\n\nKeep this.\n")
    result = render(write_spec(tmp_path, description="omega"), out)
    assert result.exit_code == 0, result.output
    assert "merged" in result.output
    text = readme.read_text()
    assert "Keep this." in text and "omega" in text and "alpha" not in text


def test_user_edit_without_generator_change_is_kept(tmp_path):
    spec, out = write_spec(tmp_path), tmp_path / "repo"
    render(spec, out)
    gitignore = out / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "wandb/\n")
    result = render(spec, out)
    assert result.exit_code == 0
    assert gitignore.read_text().endswith("wandb/\n")


def test_overlapping_edits_conflict_with_markers_and_exit_nonzero(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    readme = out / "README.md"
    readme.write_text(readme.read_text().replace("alpha", "my own words"))
    result = render(write_spec(tmp_path, description="second"), out)
    assert result.exit_code == 4
    assert "conflict" in result.output and "README.md" in result.output
    text = readme.read_text()
    assert "<<<<<<< your edit" in text and ">>>>>>> repro-gen" in text
    assert "my own words" in text and "second" in text


def test_a_conflict_stays_reported_until_its_markers_are_resolved(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    readme = out / "README.md"
    readme.write_text(readme.read_text().replace("alpha", "my own words"))
    assert render(write_spec(tmp_path, description="second"), out).exit_code == 4
    with_markers = readme.read_bytes()
    # The same spec again: the markers are still there, so it is still a conflict, untouched.
    again = render(write_spec(tmp_path, description="second"), out)
    assert again.exit_code == 4 and "unresolved conflict markers" in again.output, again.output
    assert readme.read_bytes() == with_markers
    # Resolved by hand (keeping both sides' words): an ordinary edit from now on.
    lines = [ln for ln in readme.read_text().splitlines(True)
             if not ln.startswith(("<<<<<<< ", "=======", ">>>>>>> "))]
    readme.write_text("".join(lines))
    resolved = render(write_spec(tmp_path, description="second"), out)
    assert resolved.exit_code == 0, resolved.output
    assert "my own words" in readme.read_text()


def test_a_file_that_is_not_utf8_is_left_alone_and_reported(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    readme = out / "README.md"
    content = readme.read_bytes().replace(b"alpha", b"caf\xe9 latin-1")
    readme.write_bytes(content)
    result = render(write_spec(tmp_path, description="second"), out)
    assert result.exit_code == 4 and "not UTF-8" in result.output, result.output
    assert "Traceback" not in result.output
    assert readme.read_bytes() == content


@pytest.mark.parametrize("name", [STATE_FILE, BASE_FILE])
def test_damaged_state_is_a_clear_error(tmp_path, name):
    spec, out = write_spec(tmp_path), tmp_path / "repo"
    render(spec, out)
    (out / name).write_text("{ not json")
    before = snapshot(out)
    result = render(spec, out)
    assert result.exit_code == 1 and "is damaged" in result.output and "git checkout" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert snapshot(out) == before


def test_dry_run_conflict_says_nothing_was_written(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    readme = out / "README.md"
    readme.write_text(readme.read_text().replace("alpha", "my own words"))
    result = render(write_spec(tmp_path, description="second"), out, "--dry-run")
    assert result.exit_code == 4 and "would conflict (nothing was written)" in result.output


def test_force_overwrites_edits(tmp_path):
    spec, out = write_spec(tmp_path), tmp_path / "repo"
    render(spec, out)
    readme = out / "README.md"
    original = readme.read_bytes()
    readme.write_text("mine\n")
    result = render(spec, out, "--force")
    assert result.exit_code == 0 and "overwritten" in result.output
    assert readme.read_bytes() == original


def test_existing_foreign_file_is_not_overwritten(tmp_path):
    out = tmp_path / "repo"
    out.mkdir()
    (out / "README.md").write_text("# A README that was here first\n")
    result = render(write_spec(tmp_path), out)
    assert result.exit_code == 4
    text = (out / "README.md").read_text()
    assert "# A README that was here first" in text and "<<<<<<<" in text


def test_deleted_file_stays_deleted(tmp_path):
    spec, out = write_spec(tmp_path), tmp_path / "repo"
    render(spec, out)
    (out / ".env.example").unlink()
    result = render(spec, out)
    assert result.exit_code == 0 and "kept" in result.output
    assert not (out / ".env.example").exists()


@pytest.mark.parametrize("mode", ["first", "rerender", "edited"])
def test_dry_run_leaves_the_disk_byte_identical(tmp_path, mode):
    spec, out = write_spec(tmp_path), tmp_path / "repo"
    out.mkdir()
    if mode != "first":
        render(spec, out)
    if mode == "edited":
        (out / "README.md").write_text("edited\n")
    before = snapshot(out)
    result = render(write_spec(tmp_path, description="changed"), out, "--dry-run", "--diff")
    assert "would render" in result.output
    assert snapshot(out) == before


def test_dry_run_writes_nothing_anywhere(tmp_path, monkeypatch):
    """Not even the cache of compiled templates (which a real render keeps under XDG_CACHE_HOME)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("REPRO_GEN_NO_CACHE", raising=False)
    import subprocess
    import sys

    spec = write_spec(tmp_path)
    cmd = [sys.executable, "-m", "repro_gen", "render", str(spec), "-o", str(tmp_path / "repo")]
    subprocess.run([*cmd, "--dry-run"], check=True, capture_output=True)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "repo").exists()
    subprocess.run(cmd, check=True, capture_output=True)
    assert any((tmp_path / "cache" / "repro-gen").rglob("*.cache"))


def test_diff_shows_unified_diff(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    result = render(write_spec(tmp_path, description="second"), out, "--dry-run", "--diff")
    assert "--- a/README.md" in result.output and "+second" in result.output


def test_symlinked_directory_inside_output_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "repo"
    out.mkdir()
    os.symlink(outside, out / ".repro-gen")
    result = render(write_spec(tmp_path), out)
    assert result.exit_code == 3 and "symbolic link" in result.output
    assert list(outside.iterdir()) == []


def test_symlinked_file_is_refused(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "repo"
    out.mkdir()
    os.symlink(victim, out / "README.md")
    result = render(write_spec(tmp_path), out)
    assert result.exit_code == 3
    assert victim.read_text() == "precious\n"


def test_nothing_is_written_outside_the_output_directory(tmp_path):
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    spec = write_spec(sandbox)
    before = {p for p in tmp_path.rglob("*")}
    render(spec, sandbox / "repo")
    after = {p for p in tmp_path.rglob("*")}
    assert all(sandbox / "repo" in p.parents or p == sandbox / "repo" for p in after - before)


def test_target_rejects_escaping_paths(tmp_path):
    from repro_gen.errors import BlueprintError
    from repro_gen.write import target

    for bad in ("../x", "/etc/passwd", "a/../../b", "a//b"):
        with pytest.raises((UnsafePathError, BlueprintError)):
            target(tmp_path, bad)


def test_removed_outputs_are_deleted_only_when_untouched(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    # Pretend an older generator rendered two more files, one of which the user edited.
    import json

    base = json.loads((out / BASE_FILE).read_text())
    for name, content in (("old-a.txt", "a\n"), ("old-b.txt", "b\n")):
        base[name] = content
        (out / name).write_text(content)
    (out / "old-b.txt").write_text("b, edited\n")
    (out / BASE_FILE).write_text(json.dumps(base))
    result = render(write_spec(tmp_path), out)
    assert result.exit_code == 0, result.output
    assert not (out / "old-a.txt").exists()
    assert (out / "old-b.txt").read_text() == "b, edited\n"


def test_writes_are_atomic_no_temp_files_left(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    assert not [p for p in out.rglob(".repro-gen-*")]


def test_unchanged_rerender_rewrites_nothing_not_even_the_state_files(tmp_path):
    spec, out = write_spec(tmp_path), tmp_path / "repo"
    render(spec, out)
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    result = render(spec, out)
    assert result.exit_code == 0, result.output
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert (out / STATE_FILE) in after and (out / BASE_FILE) in after


@pytest.mark.parametrize(("change", "field"), [
    ({"project": {"name": "other-study"}}, "project.name"),
    ({"chameleon": {"site": "CHI@TACC"}}, "chameleon.site"),
])
def test_another_projects_spec_needs_force(tmp_path, change, field):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    before = snapshot(out)
    other = tmp_path / "other.yaml"
    data = {**SPEC, "project": {**SPEC["project"], **change.get("project", {})}}
    if "chameleon" in change:
        data["chameleon"] = change["chameleon"]
    other.write_text(yaml.safe_dump(data))
    for extra in ((), ("--dry-run",)):
        result = render(other, out, *extra)
        assert result.exit_code == 6, result.output
        assert field in result.output and "--force" in result.output
        assert snapshot(out) == before
    forced = render(other, out, "--force")
    assert forced.exit_code == 0, forced.output
    assert snapshot(out) != before


def test_same_project_with_other_settings_renders_without_force(tmp_path):
    out = tmp_path / "repo"
    render(write_spec(tmp_path), out)
    assert render(write_spec(tmp_path, description="other words"), out).exit_code == 0


def test_render_into_is_the_library_entry_point(tmp_path, monkeypatch):
    from repro_gen import spec as spec_mod
    from repro_gen.errors import ProjectMismatchError
    from repro_gen.project import render_into

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("REPRO_GEN_NO_CACHE", raising=False)
    spec = spec_mod.validate(SPEC)
    dry = render_into(spec, tmp_path / "repo", dry_run=True)
    assert dry.dry_run and not (tmp_path / "repo").exists()
    result = render_into(spec, tmp_path / "repo")
    assert not result.conflicts and (tmp_path / "repo" / STATE_FILE).is_file()
    assert {a.status for a in render_into(spec, tmp_path / "repo").actions} == {"unchanged"}
    other = spec_mod.validate({**SPEC, "project": {"name": "someone-else"}})
    with pytest.raises(ProjectMismatchError) as err:
        render_into(other, tmp_path / "repo")
    assert err.value.differences == [("project.name", "merge-study", "someone-else")]


def test_render_itself_writes_no_cache(tmp_path, monkeypatch):
    """`render` is pure; the caller saves what it compiled (`render_into` does, after writing)."""
    from repro_gen import cache, manifest
    from repro_gen import spec as spec_mod
    from repro_gen.render import environment, render

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("REPRO_GEN_NO_CACHE", raising=False)
    environment.cache_clear()
    environment(manifest.blueprints_root()).cache.clear()
    render(spec_mod.validate(SPEC))
    assert not (tmp_path / "cache").exists()
    cache.save()
    assert any((tmp_path / "cache" / "repro-gen").rglob("*.cache"))


def test_new_files_get_their_exact_mode_whatever_the_umask(tmp_path):
    out = tmp_path / "repo"
    old = os.umask(0o077)
    try:
        assert render(write_spec(tmp_path), out).exit_code == 0
    finally:
        os.umask(old)
    assert (out / "README.md").stat().st_mode & 0o777 == 0o644
    assert (out / "ansible/inventory/from_terraform.py").stat().st_mode & 0o777 == 0o755


def test_a_file_that_appears_between_plan_and_apply_is_not_overwritten(tmp_path):
    from repro_gen import write
    from repro_gen.loader import load
    from repro_gen.render import render as render_tree

    out = tmp_path / "repo"
    tree = render_tree(load(write_spec(tmp_path)))
    actions = write.plan(out, tree)
    assert {a.status for a in actions} == {write.CREATED}
    (out / "README.md").parent.mkdir(parents=True)
    (out / "README.md").write_text("written meanwhile by someone else\n")
    with pytest.raises(UnsafePathError, match="appeared while rendering"):
        write.apply(out, tree, actions)
    assert (out / "README.md").read_text() == "written meanwhile by someone else\n"
