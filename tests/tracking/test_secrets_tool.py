"""`python3 -m ops secrets` (ops/secrets.py): creates .env with strong random values, mode 0600,
never changes an existing value, and `check` names what compose would refuse to start without."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests import matrix

from . import compose


def _tool(tree: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops", "secrets", *args],
                          capture_output=True, text=True, cwd=tree)


def _groups(trees):
    return matrix.groups(trees, ["ops/*", ".env.example", "compose/tracking.yml"])


def test_ensure_creates_private_strong_secrets_and_keeps_them(matrix_trees, tmp_path):
    for group in _groups(matrix_trees):
        env_file = tmp_path / f"{group.combos[0].id}.env"
        os.umask(0o022)
        first = _tool(group.root, "ensure", "--env-file", str(env_file))
        assert first.returncode == 0, first.stderr
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        values = compose.read_env_file(env_file)
        example = compose.read_env_file(group.root / ".env.example")
        assert set(values) == set(example), group.ids  # the same names, in both files
        for name in ("POSTGRES_PASSWORD", "MLFLOW_FLASK_SECRET_KEY", "MINIO_ROOT_PASSWORD"):
            if name in values:
                assert re.fullmatch(r"[0-9a-f]{64}", values[name]), (group.ids, name)
        assert not any(v for k, v in values.items() if k.startswith("CHAMELEON_"))
        # Values already there (including ones the user typed) survive; missing ones come back.
        text = env_file.read_text()
        text = text.replace("CHAMELEON_S3_ACCESS_KEY=\n", "CHAMELEON_S3_ACCESS_KEY=mykey\n")
        text = "\n".join(line for line in text.splitlines()
                         if not line.startswith("MLFLOW_FLASK_SECRET_KEY=")) + "\n"
        env_file.write_text(text)
        env_file.chmod(0o644)
        second = _tool(group.root, "ensure", "--env-file", str(env_file))
        assert second.returncode == 0, second.stderr
        again = compose.read_env_file(env_file)
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        assert again["POSTGRES_PASSWORD"] == values["POSTGRES_PASSWORD"]
        if "CHAMELEON_S3_ACCESS_KEY" in again:
            assert again["CHAMELEON_S3_ACCESS_KEY"] == "mykey"
        assert re.fullmatch(r"[0-9a-f]{64}", again["MLFLOW_FLASK_SECRET_KEY"])
        assert again["MLFLOW_FLASK_SECRET_KEY"] != values["MLFLOW_FLASK_SECRET_KEY"]
        unchanged = env_file.read_bytes()
        third = _tool(group.root, "ensure", "--env-file", str(env_file))
        assert third.returncode == 0 and "nothing changed" in third.stdout
        assert env_file.read_bytes() == unchanged


def test_two_renders_get_different_secrets(example_trees, tmp_path):
    tree = example_trees["minimal"]
    a, b = tmp_path / "a.env", tmp_path / "b.env"
    assert _tool(tree, "ensure", "--env-file", str(a)).returncode == 0
    assert _tool(tree, "ensure", "--env-file", str(b)).returncode == 0
    va, vb = compose.read_env_file(a), compose.read_env_file(b)
    assert all(va[k] != vb[k] for k in va if va[k])


def test_check_names_what_compose_needs(matrix_trees, tmp_path):
    for group in _groups(matrix_trees):
        env_file = tmp_path / "check.env"
        env_file.unlink(missing_ok=True)
        missing = _tool(group.root, "check", "--env-file", str(env_file))
        assert missing.returncode == 1 and "ensure" in missing.stderr
        assert _tool(group.root, "ensure", "--env-file", str(env_file)).returncode == 0
        values = compose.read_env_file(env_file)
        check = _tool(group.root, "check", "--env-file", str(env_file))
        needs_keys = "CHAMELEON_S3_ACCESS_KEY" in values
        assert check.returncode == (1 if needs_keys else 0), check.stderr
        if needs_keys:
            assert "CHAMELEON_S3_ACCESS_KEY is empty" in check.stderr
            assert "openstack ec2 credentials create" in check.stderr
            filled = env_file.read_text().replace("KEY=\n", "KEY=abc123\n")
            env_file.write_text(filled)
            assert _tool(group.root, "check", "--env-file", str(env_file)).returncode == 0
        # What check accepts, compose accepts: every ${VAR:?} of the compose file is set.
        compose.load(group.root / "compose" / "tracking.yml",
                     compose.read_env_file(env_file))
        env_file.chmod(0o640)
        loose = _tool(group.root, "check", "--env-file", str(env_file))
        assert loose.returncode == 1 and "0600" in loose.stderr


@pytest.mark.parametrize("bad", ["", "NOTHING"])
def test_check_fails_on_an_incomplete_file(example_trees, tmp_path, bad):
    env_file = tmp_path / ".env"
    env_file.write_text(bad)
    env_file.chmod(0o600)
    result = _tool(example_trees["minimal"], "check", "--env-file", str(env_file))
    assert result.returncode == 1
    assert "POSTGRES_PASSWORD is missing" in result.stderr
