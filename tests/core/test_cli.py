"""The command line: help, version, schema, init (interactive and scripted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from repro_gen import __version__
from repro_gen.cli import main
from repro_gen.loader import load
from tests.conftest import EXAMPLES


def invoke(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_help_lists_commands_and_examples():
    result = invoke("--help")
    assert result.exit_code == 0
    for word in ("init", "validate", "render", "schema", "Examples:", "--dry-run"):
        assert word in result.output


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from repro_gen.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pydantic', 'jinja2', 'mlflow', 'ansible', 'yaml') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip().endswith("[]"), out


def test_schema_is_json_schema_that_accepts_examples_and_rejects_unknown_keys():
    jsonschema = pytest.importorskip("jsonschema")
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    validator = jsonschema.Draft202012Validator(schema)
    for example in EXAMPLES:
        assert not list(validator.iter_errors(yaml.safe_load(example.read_text()))), example
    bad = {"version": 1, "project": {"name": "ab-c"}, "colour": "blue"}
    assert list(validator.iter_errors(bad))


def test_init_defaults_writes_a_valid_minimal_spec(tmp_path):
    out = tmp_path / "spec.yaml"
    result = invoke("init", "--defaults", "--set", "project.name=demo-run", "-o", str(out))
    assert result.exit_code == 0, result.output
    spec = load(out)
    assert spec.project.name == "demo-run" and spec.chameleon.site == "CHI@UC"
    assert len(out.read_text().splitlines()) < 40


def test_init_set_values_and_kvm_rules(tmp_path):
    out = tmp_path / "spec.yaml"
    result = invoke("init", "--defaults", "-o", str(out), "--set", "project.name=vm-study",
                    "--set", "chameleon.site=KVM@TACC", "--set", "chameleon.flavor=m1.large",
                    "--set", "chameleon.ssh_cidrs=[192.0.2.0/24]", "--set", "training.seed=0")
    assert result.exit_code == 0, result.output
    spec = load(out)
    assert spec.accelerator == "none" and spec.chameleon.ssh_cidrs == ["192.0.2.0/24"]
    assert spec.training.seed == 0


@pytest.mark.parametrize(("sets", "expected"), [
    (["accelerator=none"], {"site": "CHI@UC", "node_type": "compute_cascadelake_r"}),
    (["chameleon.site=CHI@TACC", "accelerator=amd"], {"site": "CHI@TACC", "node_type": "gpu_mi100"}),
    # The same default a hand-written spec gets (catalog.default_hardware), never a type the
    # site lacks.
    (["chameleon.site=CHI@TACC"], {"site": "CHI@TACC", "node_type": "gpu_p100"}),
    (["chameleon.site=KVM@TACC", "accelerator=none", "chameleon.ssh_cidrs=203.0.113.7/32,198.51.100.0/24"],
     {"site": "KVM@TACC", "flavor": "m1.xlarge", "ssh_cidrs": ["203.0.113.7/32", "198.51.100.0/24"]}),
])
def test_init_defaults_follow_the_values_given(tmp_path, sets, expected):
    """The proposed node type or flavor carries the accelerator asked for; lists are
    comma-separated, as the prompt takes them."""
    out = tmp_path / "spec.yaml"
    args = [item for value in sets for item in ("--set", value)]
    result = invoke("init", "--defaults", "-o", str(out), *args)
    assert result.exit_code == 0, result.output
    chameleon = yaml.safe_load(out.read_text())["chameleon"]
    assert {k: chameleon.get(k) for k in expected} == expected


def test_init_says_how_to_answer_what_it_cannot_default(tmp_path):
    result = invoke("init", "--defaults", "-o", str(tmp_path / "s.yaml"),
                    "--set", "chameleon.site=KVM@TACC")
    assert result.exit_code == 2
    assert "chameleon.ssh_cidrs" in result.output
    assert "--set chameleon.ssh_cidrs=203.0.113.7/32" in result.output


def test_init_bad_set_value_names_the_field(tmp_path):
    result = invoke("init", "--defaults", "-o", str(tmp_path / "s.yaml"),
                    "--set", "project.name=Bad Name")
    assert result.exit_code == 2
    assert "project.name" in result.output and "lowercase" in result.output
    assert not (tmp_path / "s.yaml").exists()


def test_init_refuses_to_overwrite(tmp_path):
    out = tmp_path / "spec.yaml"
    out.write_text("mine\n")
    result = invoke("init", "--defaults", "-o", str(out))
    assert result.exit_code == 1 and "exists" in result.output
    assert out.read_text() == "mine\n"


def test_init_interactive_bare_metal_cpu_skips_gpu_and_firewall_questions(tmp_path):
    out = tmp_path / "spec.yaml"
    answers = "\n".join([
        "cpu-study",           # project name
        "CHI@TACC",            # site
        "compute_zen3",        # node type
        "2",                   # node count
        "12",                  # lease hours
        "sklearn",             # framework
        "minio",               # artifact store
        "n",                   # backups
        "n",                   # github
    ]) + "\n"
    result = invoke("init", "-o", str(out), input=answers)
    assert result.exit_code == 0, result.output
    assert "Accelerator" not in result.output
    assert "SSH" not in result.output
    assert "Hugging Face" not in result.output
    spec = load(out)
    assert (spec.accelerator, spec.chameleon.node_count, spec.tracking.backups) == ("none", 2, False)


def test_init_interactive_reasks_an_invalid_answer(tmp_path):
    out = tmp_path / "spec.yaml"
    answers = "\n".join([
        "Bad Name", "good-name",  # first answer rejected, second accepted
        "KVM@TACC", "m1.large",
        "1", "999", "24",          # 999 hours rejected
        "0.0.0.0/0", "192.0.2.0/24",
        "sklearn", "minio", "y", "n",
    ]) + "\n"
    result = invoke("init", "-o", str(out), input=answers)
    assert result.exit_code == 0, result.output
    assert "lowercase" in result.output and "whole internet" in result.output
    spec = load(out)
    assert spec.project.name == "good-name" and spec.chameleon.lease_hours == 24


def test_render_defaults_output_to_project_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nproject:\n  name: here-study\n")
    result = invoke("render", str(spec))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "here-study" / "README.md").is_file()


def test_init_site_answer_is_case_insensitive(tmp_path):
    out = tmp_path / "spec.yaml"
    answers = "\n".join(["cpu-study", "chi@uc", "", "1", "24", "sklearn", "minio", "n", "n"]) + "\n"
    result = invoke("init", "-o", str(out), input=answers)
    assert result.exit_code == 0, result.output
    assert load(out).chameleon.site == "CHI@UC"
    scripted = invoke("init", "--defaults", "--set", "chameleon.site=chi@tacc", "-o",
                      str(tmp_path / "set.yaml"))
    assert scripted.exit_code == 0, scripted.output
    assert load(tmp_path / "set.yaml").chameleon.site == "CHI@TACC"


def test_init_kvm_ssh_question_offers_no_empty_default_and_shows_the_format(tmp_path):
    out = tmp_path / "spec.yaml"
    answers = "\n".join([
        "kvm-study", "KVM@TACC", "m1.large", "1", "24",
        "",                       # empty: asked again (no default to accept)
        "198.51.100.7/24",        # host bits set: the hint shows how to answer at this prompt
        "203.0.113.7/32,198.51.100.0/24",
        "sklearn", "minio", "n", "n",
    ]) + "\n"
    result = invoke("init", "-o", str(out), input=answers)
    assert result.exit_code == 0, result.output
    ssh_prompts = [line for line in result.output.splitlines() if "SSH" in line]
    assert ssh_prompts and all("[]" not in line for line in ssh_prompts), result.output
    assert "comma-separated" in ssh_prompts[0] and "203.0.113.7/32," in ssh_prompts[0]
    assert "comma-separated CIDRs, e.g. 203.0.113.7/32,198.51.100.0/24" in result.output
    assert "ssh_cidrs: [" not in result.output  # the YAML form is for spec files, not this prompt
    assert load(out).chameleon.ssh_cidrs == ["203.0.113.7/32", "198.51.100.0/24"]


def test_console_script_exits_with_the_commands_code(tmp_path):
    """`run` (the console script) flushes its output and leaves with main's exit code."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nproject:\n  name: exit-study\n")
    cmd = [sys.executable, "-m", "repro_gen"]
    ok = subprocess.run([*cmd, "validate", str(spec)], capture_output=True, text=True)
    assert ok.returncode == 0 and "valid" in ok.stdout
    usage = subprocess.run([*cmd, "validate"], capture_output=True, text=True)
    assert usage.returncode == 64 and "Usage:" in usage.stderr
    missing = subprocess.run([*cmd, "validate", str(tmp_path / "nope.yaml")], capture_output=True,
                             text=True)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    out = tmp_path / "repo"
    subprocess.run([*cmd, "render", str(spec), "-o", str(out)], check=True, capture_output=True)
    assert (out / "README.md").is_file() and (out / ".repro-gen" / "state.json").is_file()


@pytest.mark.parametrize("text", ["[a", "*x", "a: b: c", "yes", "010", "!!python/object:os.system",
                                  "{{ x }}", "- x", "~~~"])
def test_init_set_takes_text_fields_as_written(tmp_path, text):
    out = tmp_path / "spec.yaml"
    result = invoke("init", "--defaults", "-o", str(out), "--set", f"project.description={text}")
    assert result.exit_code == 0, result.output
    assert load(out).project.description == text


@pytest.mark.parametrize(("value", "fragment"), [("[a", "not valid YAML"), ("*x", "alias"),
                                                  ("!!int 3", "explicit YAML tag")])
def test_init_set_yaml_errors_name_the_set(tmp_path, value, fragment):
    result = invoke("init", "--defaults", "-o", str(tmp_path / "s.yaml"),
                    "--set", f"chameleon.node_count={value}")
    assert result.exit_code == 2, result.output
    assert f"--set: chameleon.node_count: {fragment}" in result.output
    assert "Traceback" not in result.output


def test_output_that_is_a_file_is_a_usage_error_not_an_invalid_spec(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nproject:\n  name: usage-study\n")
    result = invoke("render", str(spec), "-o", str(spec))
    assert result.exit_code == 64 and "is a file" in result.output
    result = invoke("init", "-o", str(tmp_path), "--defaults")
    assert result.exit_code == 64


def test_keys_are_shown_escaped(tmp_path):
    """A key cannot forge a line of output or reorder one: non-printables are escaped."""
    spec = tmp_path / "spec.yaml"
    spec.write_text('version: 1\nproject:\n  name: abc\n  "x\\nspec.yaml:1: ok\\u202e\\0": 1\n')
    result = invoke("validate", str(spec))
    assert result.exit_code == 2
    assert "project.x\\u000aspec.yaml:1: ok\\u202e\\u0000: unknown key" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "\u202e" not in result.output and "\0" not in result.output
