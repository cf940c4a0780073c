"""`make secrets` is one command: ensure, then check (tests/tracking/test_secrets_tool.py covers
each half over the matrix); the names come from ops/project.json."""

from __future__ import annotations

import stat


def test_secrets_ensures_then_checks(ops, capsys):
    env_file = ops.repo / ".env"
    assert ops.cli.main(["secrets"]) == 1  # the Chameleon keys are yours to fill in
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    err = capsys.readouterr().err
    assert "CHAMELEON_S3_ACCESS_KEY is empty" in err
    assert "Next: fill in the values named above in .env" in err
    text = env_file.read_text()
    env_file.write_text(text.replace("CHAMELEON_S3_ACCESS_KEY=\n", "CHAMELEON_S3_ACCESS_KEY=a\n")
                        .replace("CHAMELEON_S3_SECRET_KEY=\n", "CHAMELEON_S3_SECRET_KEY=b\n"))
    assert ops.cli.main(["secrets"]) == 0
    assert "every secret is set" in capsys.readouterr().out


def test_the_names_are_the_projects(ops):
    generated, provided, optional = ops.secrets.names()
    assert "POSTGRES_PASSWORD" in generated and "MINIO_ROOT_PASSWORD" in generated
    assert set(provided) == {"CHAMELEON_S3_ACCESS_KEY", "CHAMELEON_S3_SECRET_KEY"}
    assert optional == {"HF_TOKEN"}
