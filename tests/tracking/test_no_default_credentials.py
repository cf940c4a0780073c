"""No rendered tree (every example, every matrix combination) carries a known default credential,
a literal secret, or a port published beyond 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests import matrix

# Defaults that ship with MinIO, PostgreSQL images, tutorials and Chameleon ML templates.
DEFAULT_CREDENTIALS = re.compile(
    r"minioadmin|minio123|password1234|changeme|change_me|admin[:/]admin|hunter2"
    r"|(?:PASSWORD|PASS|SECRET(?:_KEY)?)[ \t]*[:=][ \t]*[\"']?(?:password|postgres|mlflow|admin|secret"
    r"|root|minio|test|example)\b",
    re.IGNORECASE)
# A secret variable given a literal value instead of a ${...} reference or an empty placeholder.
LITERAL_SECRET = re.compile(
    r"^[ \t]*-?[ \t]*[\"']?(?:[A-Z0-9_]*(?:PASSWORD|SECRET_KEY|ACCESS_KEY|ROOT_USER|TOKEN))[\"']?"
    r"[ \t]*[:=][ \t]*(?![\"']?\$\{)[\"']?[A-Za-z0-9+/]{6,}", re.MULTILINE)
ANY_ADDRESS = re.compile(r"0\.0\.0\.0|\[::\]:\d+|:::\d+")


def _files(root: Path):
    # What repro-gen rendered (the tracked tree, not the .env other tests create beside it); a
    # folder that was not rendered, like the scanner's own self-test, is read whole.
    rendered = (root / ".repro-gen/state.json").is_file()
    paths = matrix.rendered_files(root) if rendered else sorted(p for p in root.rglob("*") if p.is_file())
    for path in paths:
        if ".repro-gen" not in path.parts:
            yield path, path.read_text(encoding="utf-8", errors="replace")


def _port_problems(path: Path, text: str) -> list[str]:
    data = yaml.safe_load(text) or {}
    problems = []
    for name, svc in (data.get("services") or {}).items():
        for port in svc.get("ports") or []:
            if isinstance(port, dict):
                ok = port.get("host_ip") == "127.0.0.1" and port.get("published")
            else:
                ok = str(port).startswith("127.0.0.1:") and str(port).count(":") == 2
            if not ok:
                problems.append(f"{path.name}: {name} publishes {port!r} beyond 127.0.0.1")
    return problems


def _scan(root: Path) -> list[str]:
    hits = []
    for path, text in _files(root):
        rel = path.relative_to(root).as_posix()
        for match in DEFAULT_CREDENTIALS.finditer(text):
            hits.append(f"{rel}: default credential {match.group(0)!r}")
        for match in LITERAL_SECRET.finditer(text):
            hits.append(f"{rel}: literal secret {match.group(0).strip()!r}")
        for lineno, line in enumerate(text.splitlines(), 1):
            if ANY_ADDRESS.search(line):
                # The one allowed form: MLflow listening on every interface *inside* its
                # container, whose published port the compose check pins to 127.0.0.1.
                if rel.startswith("compose/") and line.strip() == "- --host=0.0.0.0":
                    continue
                hits.append(f"{rel}:{lineno}: binds every address: {line.strip()!r}")
        if rel.startswith("compose/") and rel.endswith((".yml", ".yaml")):
            hits.extend(_port_problems(path, text))
    return hits


def test_no_default_credentials_or_public_ports_in_examples(example_trees):
    hits = {name: _scan(root) for name, root in example_trees.items()}
    assert not any(hits.values()), hits


def test_no_default_credentials_or_public_ports_across_the_matrix(matrix_trees):
    failures = []
    for group in matrix.groups(matrix_trees, ["*", "*/*", "*/*/*", "*/*/*/*", "*/*/*/*/*",
                                              "*/*/*/*/*/*"]):
        hits = _scan(group.root)
        if hits:
            failures.append(f"{group.ids}:\n  " + "\n  ".join(hits))
    assert not failures, "\n".join(failures)


def test_the_scanner_catches_what_it_looks_for(tmp_path):
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "bad.yml").write_text(
        "services:\n  minio:\n    environment:\n      MINIO_ROOT_PASSWORD: minioadmin\n"
        "    ports:\n      - 9000:9000\n      - 0.0.0.0:5000:5000\n"
        "  pg:\n    environment:\n      POSTGRES_PASSWORD: s3cr3tvalue\n")
    (tmp_path / ".env.example").write_text("POSTGRES_PASSWORD=\n")
    hits = "\n".join(_scan(tmp_path))
    assert "minioadmin" in hits
    assert "s3cr3tvalue" in hits
    assert "'9000:9000'" in hits
    assert "binds every address" in hits
    clean = tmp_path / "clean"
    (clean / "compose").mkdir(parents=True)
    (clean / "compose" / "ok.yml").write_text(
        'services:\n  a:\n    environment:\n      POSTGRES_PASSWORD: "${POSTGRES_PASSWORD:?x}"\n'
        "    ports:\n      - 127.0.0.1:5000:5000\n")
    assert _scan(clean) == []
