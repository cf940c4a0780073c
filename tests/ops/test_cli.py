"""The one CLI: every Makefile target calls a command it has, `--help` needs only the standard
library, and a failing step is reported the same way everywhere (its name, then what to try)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

# Imports the package must not make until a command needs them.
GUARD = """
import builtins, sys
real = builtins.__import__
def guard(name, *args, **kwargs):
    if name.split('.')[0] in ('openstack', 'blazarclient', 'keystoneauth1', 'boto3', 'botocore'):
        raise ImportError('not at import: ' + name)
    return real(name, *args, **kwargs)
builtins.__import__ = guard
from ops.cli import main
sys.exit(main(sys.argv[1:]))
"""


def ops_argv(*args: str) -> list[str]:
    return [sys.executable, "-c", GUARD, *args]


def makefile_commands(makefile: str) -> list[list[str]]:
    """The ops command lines of the Makefile's recipes, e.g. ['lease', 'create']."""
    return [line.split() for line in re.findall(r"^\t@?\$\(OPS\) (.+)$", makefile, re.M)]


def test_every_makefile_target_is_a_command_that_parses_without_third_party_modules(ops):
    commands = makefile_commands((ops.repo / "Makefile").read_text())
    assert ["lease", "create"] in commands and ["backup", "list"] in commands
    for words in [[], *commands]:
        proc = subprocess.run(ops_argv(*words, "--help"), cwd=ops.repo, capture_output=True,
                              text=True, timeout=60, check=False)
        assert proc.returncode == 0, f"{words}: {proc.stderr}"
        assert proc.stdout.startswith("usage: python3 -m ops"), proc.stdout


def test_the_makefile_venv_rules_report_through_the_same_message(ops):
    proc = subprocess.run([sys.executable, "-m", "ops", "fail", "tools", "install python3-venv"],
                          cwd=ops.repo, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert proc.stderr == '\n*** step "tools" failed.\n*** Next: install python3-venv\n'


def test_an_error_names_its_step_and_the_hint(ops, capsys):
    steps = ops.steps
    with pytest.raises(steps.StepFailed) as caught, steps.step("down", "make status"):
        raise steps.OpsError("no lease")
    assert (caught.value.step, caught.value.hint, str(caught.value)) == ("down", "make status",
                                                                        "no lease")
    assert steps.report(caught.value) == 1
    assert capsys.readouterr().err == ('error: no lease\n\n*** step "down" failed.\n'
                                       '*** Next: make status\n')


def test_the_innermost_step_and_the_errors_own_hint_win(ops):
    steps = ops.steps
    with (pytest.raises(steps.StepFailed) as caught, steps.step("down", "make down again"),
          steps.step("backup", "check CHAMELEON_S3_* in .env")):
        raise steps.OpsError("refused", hint="make ssh")
    assert (caught.value.step, caught.value.hint) == ("backup", "make ssh")


def test_a_failed_program_is_not_reported_twice(ops, capsys):
    """The program's own output says why; the report adds only the step and what to try."""
    steps = ops.steps
    with pytest.raises(steps.StepFailed) as caught, steps.step("provision", "make status"):
        steps.run([sys.executable, "-c", "raise SystemExit(3)"])
    assert steps.report(caught.value) == 1
    err = capsys.readouterr().err
    assert "error:" not in err and 'step "provision" failed' in err


def test_a_missing_program_is_named(ops):
    steps = ops.steps
    with pytest.raises(steps.OpsError, match="no-such-tool-here is not installed"):
        steps.run(["no-such-tool-here", "version"])


def test_exit_status_and_report_of_a_command_that_returns_non_zero(ops, capsys):
    code = ops.cli.main(["fail", "x", "y"])
    assert code == 1
    # A command's own non-zero status is reported once, as its step.
    ops.secrets.check = lambda path: 1
    assert ops.cli.main(["secrets", "check"]) == 1
    err = capsys.readouterr().err
    assert err.count('step "secrets" failed') == 1
    assert "Next: fill in the values named above in .env" in err


def test_debug_shows_the_traceback(ops):
    with pytest.raises(ops.steps.StepFailed, match="make inventory"):
        ops.cli.main(["--debug", "summary"])


def test_each_lease_command_has_its_next_step(ops):
    parse = ops.cli.parser().parse_args
    assert parse(["lease", "create"]).hint == "make status; or pick another time slot (see above)"
    assert parse(["lease", "delete"]).hint == "python3 -m ops lease status"
    assert parse(["backup", "list"]).step == "backup-list"
