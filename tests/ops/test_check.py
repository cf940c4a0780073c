"""`make check`'s own logic: what changed since the render, and the placeholder secrets the
compose check uses instead of the real .env."""

from __future__ import annotations


def test_edits_are_listed_and_only_an_edited_spec_copy_fails(ops, capsys):
    root = ops.repo
    assert ops.check.rendered_files(root) == 0
    (root / "README.md").write_text("mine\n")
    (root / "terraform" / "outputs.tf").unlink()
    assert ops.check.rendered_files(root) == 0
    out = capsys.readouterr().out
    assert "edited since the render:\n  README.md" in out and "deleted:\n  terraform/outputs.tf" in out
    spec = root / ".repro-gen" / "spec.yaml"
    spec.write_text(spec.read_text() + "# edited\n")
    assert ops.check.rendered_files(root) == 1
    assert "change your own spec and re-render" in capsys.readouterr().err


def test_not_rendered_by_repro_gen(ops, capsys):
    (ops.repo / ".repro-gen" / "state.json").unlink()
    assert ops.check.rendered_files(ops.repo) == 1


def test_every_name_of_env_example_gets_a_placeholder(ops):
    text = ops.check.placeholder_env(ops.repo / ".env.example")
    names = [line.split("=")[0] for line in text.splitlines()]
    assert "POSTGRES_PASSWORD" in names and all(line.endswith("=placeholder")
                                                for line in text.splitlines())
    assert ops.check.placeholder_env(ops.repo / "missing") == ""


def test_check_stops_at_the_first_failing_step(ops, tmp_path, monkeypatch, capsys):
    from .conftest import recorder

    terraform, _ = recorder(tmp_path, "terraform", "exit 3")
    monkeypatch.setenv("TERRAFORM", str(terraform))
    monkeypatch.setenv("ANSIBLE_LINT", str(tmp_path / "not-reached"))
    assert ops.cli.main(["check"]) == 1
    err = capsys.readouterr().err
    assert 'step "check" failed.\n*** Next: run terraform fmt -recursive terraform' in err
