"""Checks on the rendered training files over the whole matrix (grouped by identical content):
the Python compiles and lints, YAML parses, compose accepts the service, the image recipe is
pinned and honest, requirements are exact, the role passes ansible-lint's production profile."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from tests import matrix
from tests.conftest import require, run

PY = ["training/*.py"]


def test_rendered_python_compiles_and_lints(matrix_trees):
    ruff = require("ruff")
    for group in matrix.groups(matrix_trees, PY):
        training = group.root / "training"
        done = run([sys.executable, "-m", "py_compile", *map(str, sorted(training.glob("*.py")))])
        assert done.returncode == 0, f"{group.ids}: {done.stderr}"
        # The generated repo's own lint rules (provenance and runtime are first-party there).
        done = run([ruff, "check", "--no-cache", "--isolated", "--line-length", "110",
                    "--select", "E,F,W,I,B,UP,SIM", "--target-version", "py310",
                    "--config", "lint.isort.known-first-party=['provenance','runtime']", str(training)])
        assert done.returncode == 0, f"{group.ids}:\n{done.stdout}"


def test_config_and_requirements_are_exact(matrix_trees):
    pinned = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[a-z-]+\])?==[0-9][A-Za-z0-9.+]*$")
    for group in matrix.groups(matrix_trees, ["training/config.yaml", "training/requirements.txt",
                                              ".repro-gen/spec.yaml"]):
        spec = yaml.safe_load((group.root / ".repro-gen/spec.yaml").read_text())
        config = yaml.safe_load((group.root / "training/config.yaml").read_text())
        assert config["seed"] == spec["training"]["seed"]
        assert config["expect_gpu"] is (spec["accelerator"] != "none"), group.ids
        assert config["accelerator"] == spec["accelerator"]
        lines = [ln for ln in (group.root / "training/requirements.txt").read_text().splitlines()
                 if ln and not ln.startswith(("#", "--extra-index-url https://download.pytorch.org/"))]
        assert lines, group.ids
        for line in lines:
            assert pinned.match(line), f"{group.ids}: {line!r} is not an exact pin"
        assert "mlflow==" + metadata.version("mlflow") in lines
        if spec["accelerator"] == "nvidia":
            assert any(ln.startswith("nvidia-ml-py==") for ln in lines)


def test_cpu_requirements_match_what_the_tests_ran(matrix_trees):
    """The CPU pins are the versions installed and exercised here (no drift between test and ship)."""
    for group in matrix.groups(matrix_trees, ["training/requirements.txt"]):
        if any(c.accelerator != "none" for c in group.combos):
            continue
        for line in (group.root / "training/requirements.txt").read_text().splitlines():
            if "==" not in line or line.startswith("#"):
                continue
            name, version = line.split("==")
            name = name.split("[")[0]
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue  # frameworks not installed here are covered by their own tests' skips
            assert installed == version, f"{group.ids}: {name} pinned {version}, tested {installed}"


def test_dockerfile_is_pinned_unprivileged_and_fails_loudly(matrix_trees):
    for group in matrix.groups(matrix_trees, ["docker/train/Dockerfile", ".repro-gen/spec.yaml"]):
        text = (group.root / "docker/train/Dockerfile").read_text()
        spec = yaml.safe_load((group.root / ".repro-gen/spec.yaml").read_text())
        base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
        assert base, group.ids
        image, _, tag = base.group(1).rpartition(":")
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"{group.ids}: {base.group(1)}"
        assert {"nvidia": "nvidia/cuda", "amd": "rocm/", "none": "python"}[spec["accelerator"]] in image
        assert "FROM ${BASE_IMAGE}" in text
        assert "|| true" not in text and "latest" not in text
        assert "pip install --no-cache-dir -r /tmp/requirements.txt" in text
        users = re.findall(r"^USER (\S+)$", text, re.M)
        assert users and users[-1] not in ("root", "0"), group.ids
        assert "HF_TOKEN" not in text, "tokens are passed at run time, never baked in"
        assert f"python{spec['training']['python']}" in text or spec["accelerator"] == "none"


def test_compose_service_is_valid_and_reserves_the_gpus(matrix_trees, tmp_path):
    require("docker")
    if run(["docker", "compose", "version"]).returncode != 0:
        require("docker-compose", "the compose plugin (testbed/compose.sh links it)")
    for group in matrix.groups(matrix_trees, ["compose/train.yml", ".repro-gen/spec.yaml"]):
        compose = group.root / "compose/train.yml"
        env = {"HF_TOKEN": "hf_test_value", "PATH": "/usr/bin:/bin:/usr/local/bin"}
        done = subprocess.run(["docker", "compose", "-f", str(compose), "config", "--format", "json"],
                              capture_output=True, text=True, env=env)
        assert done.returncode == 0, f"{group.ids}: {done.stderr}"
        cfg = yaml.safe_load(done.stdout)
        spec = yaml.safe_load((group.root / ".repro-gen/spec.yaml").read_text())
        train = cfg["services"]["train"]
        assert train["init"] is True
        assert train["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        network = cfg["networks"]["repro-tracking"]
        assert network["name"] == "repro-tracking" and network["external"] is True
        assert "ports" not in train
        mounts = {v["target"]: v for v in train["volumes"]}
        assert {"/repo", "/data", "/checkpoints", "/hf-cache"} <= set(mounts)
        assert mounts["/repo"]["read_only"] is True
        assert Path(mounts["/repo"]["source"]) == group.root.resolve()
        devices = train.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices")
        if spec["accelerator"] == "nvidia":
            assert devices == [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]
        else:
            assert devices is None
        if spec["accelerator"] == "amd":
            sources = {d["source"] for d in train["devices"]}
            assert sources == {"/dev/kfd", "/dev/dri"} and "video" in train["group_add"]
        else:
            assert "devices" not in train
        assert ("HF_TOKEN" in train["environment"]) is spec["integrations"]["huggingface"]
        assert "env_file" not in train, "an env_file would hand every secret in .env to training"
        assert train["environment"]["CHAMELEON_SITE"] == spec["chameleon"]["site"]
        # Python reads PYTHONHASHSEED at start-up only: it must be in the container's environment.
        assert train["environment"]["PYTHONHASHSEED"] == str(spec["training"]["seed"])
        # Without the role's facts file the image compose builds is :latest; the role passes its tag.
        assert train["environment"]["REPRO_IMAGE"] == train["image"], group.ids


def training_section(tree: Path) -> str:
    text = (tree / "README.md").read_text()
    start = text.index("\n## Training\n")
    return text[start : text.index("\n## ", start + 1)]


def test_huggingface_token_is_optional_and_comes_from_the_secrets_env_file(example_trees, tmp_path):
    """Without a token compose still starts the run (public models need none); with the file the
    training role writes, the token reaches the container, and the command `make train` runs on the
    node passes that file."""
    require("docker")
    tree = example_trees["a100-multinode-uc"]
    compose = tree / "compose/train.yml"
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin"}
    done = subprocess.run(["docker", "compose", "-f", str(compose), "config", "--format", "json"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["services"]["train"]["environment"]["HF_TOKEN"] == ""
    secrets_file = tmp_path / ".env.train.secrets"
    secrets_file.write_text("HF_TOKEN=hf_from_the_role\n")
    done = subprocess.run(["docker", "compose", "--env-file", str(secrets_file), "-f", str(compose),
                           "config", "--format", "json"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["services"]["train"]["environment"]["HF_TOKEN"] == "hf_from_the_role"
    # `make train` (ops/training.py) passes the project's env files to compose, in this order.
    project = json.loads((tree / "ops/project.json").read_text())
    assert project["training"]["env_files"] == ["compose/.env.train", "compose/.env.train.secrets"]
    tasks = (tree / "ansible/roles/training/tasks/main.yml").read_text()
    assert "compose/.env.train.secrets" in tasks


def test_secrets_env_file_only_for_huggingface_and_every_read_of_it_is_unlogged(matrix_trees):
    files = ["ops/project.json", "ansible/roles/training/tasks/main.yml", "README.md",
             ".repro-gen/spec.yaml"]
    for group in matrix.groups(matrix_trees, files):
        spec = yaml.safe_load((group.root / ".repro-gen/spec.yaml").read_text())
        hf = spec["integrations"]["huggingface"]
        env_files = json.loads((group.root / "ops/project.json").read_text())["training"]["env_files"]
        assert ("compose/.env.train.secrets" in env_files) is hf, group.ids
        training = training_section(group.root)
        assert "--env-file .env " not in training, f"{group.ids}: no .env exists on the node"
        tasks = yaml.safe_load((group.root / "ansible/roles/training/tasks/main.yml").read_text())
        touching = [t for t in tasks if "hf_token" in json.dumps(t) or ".env.train.secrets" in json.dumps(t)]
        assert bool(touching) is hf, group.ids
        for task in touching:
            assert task.get("no_log") is True, f"{group.ids}: {task['name']} may log the token"
            if "ansible.builtin.copy" in task:
                assert task["ansible.builtin.copy"]["mode"] == "0600", group.ids


def test_rendered_yaml_passes_yamllint(matrix_trees):
    yamllint = require("yamllint")
    files = ["compose/train.yml", "training/config.yaml", "ansible/roles/training/*/*.yml"]
    rules = "{extends: default, rules: {line-length: {max: 110}, document-start: disable}}"
    # yamllint judges each file on its own: each distinct content is linted once.
    variants = matrix.distinct_files(matrix_trees, files)
    assert variants
    failures = matrix.run_per_file([yamllint, "--strict", "-f", "parsable", "-d", rules], variants)
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_training_role_passes_ansible_lint_production(matrix_trees):
    lint = require("ansible-lint")
    for group in matrix.groups(matrix_trees, ["ansible/roles/training/**", "ansible/roles/training/*/*"]):
        role = group.root / "ansible/roles/training"
        done = run([lint, "--offline", "--profile", "production", "--nocolor", str(role)],
                   cwd=group.root)
        assert done.returncode == 0, f"{group.ids}:\n{done.stdout}\n{done.stderr}"


def _pins(path: Path) -> dict[str, str]:
    """{package: version} of a requirements file; extras and local version labels dropped."""
    out = {}
    for line in path.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            out[name.split("[")[0]] = version.split("+")[0]
    return out


def test_local_requirements_are_cpu_builds_of_the_image_versions(matrix_trees):
    gpu_only = re.compile(r"cuda|rocm|\+cu\d|nvidia|pyrsmi", re.I)
    same = {"tensorflow-cpu": "tensorflow"}  # the image's CPU package is the laptop's tensorflow
    for group in matrix.groups(matrix_trees, ["training/requirements*.txt", "Makefile",
                                              "ops/project.json", ".repro-gen/spec.yaml"]):
        local_file = group.root / "training/requirements-local.txt"
        for line in local_file.read_text().splitlines():
            if not line.startswith("#"):
                assert not gpu_only.search(line), f"{group.ids}: {line!r} is not a CPU build"
        image = {same.get(k, k): v for k, v in _pins(group.root / "training/requirements.txt").items()}
        local = _pins(local_file)
        for name in ("nvidia-ml-py", "pyrsmi"):
            image.pop(name, None)
        assert local == image, f"{group.ids}: laptop and image pin different versions"
        makefile = (group.root / "Makefile").read_text()
        assert ".venv-train/.installed: training/requirements-local.txt" in makefile
        assert "pip install --quiet -r training/requirements-local.txt" in makefile
        seed = yaml.safe_load((group.root / ".repro-gen/spec.yaml").read_text())["training"]["seed"]
        # `make train-local` (ops/training.py) runs with PYTHONHASHSEED from the spec's seed.
        assert json.loads((group.root / "ops/project.json").read_text())["training"]["seed"] == seed
        ops_training = (group.root / "ops/training.py").read_text()
        assert '"PYTHONHASHSEED": str(training["seed"])' in ops_training, group.ids


def test_gpu_utilisation_has_its_monitoring_library(matrix_trees):
    """MLflow's system metrics read NVIDIA GPUs through pynvml (nvidia-ml-py) and AMD GPUs through
    pyrsmi; the README claims GPU utilisation only where the image has the library."""
    rocm_monitor = Path(metadata.distribution("mlflow").locate_file(
        "mlflow/system_metrics/metrics/rocm_monitor.py")).read_text()
    assert "from pyrsmi import rocml" in rocm_monitor
    for group in matrix.groups(matrix_trees, ["training/requirements.txt", "README.md"]):
        accelerator = {c.accelerator for c in group.combos}
        assert len(accelerator) == 1
        pins = _pins(group.root / "training/requirements.txt")
        library = {"nvidia": "nvidia-ml-py", "amd": "pyrsmi", "none": None}[accelerator.pop()]
        if library:
            assert library in pins, group.ids
        assert ("GPU utilisation" in training_section(group.root)) is bool(library), group.ids


def test_dockerfile_and_requirements_name_the_hardware(matrix_trees):
    phrase = {"nvidia": "NVIDIA GPUs (CUDA)", "amd": "AMD GPUs (ROCm)", "none": "CPUs (no GPU)"}
    for group in matrix.groups(matrix_trees, ["docker/train/Dockerfile", "training/requirements.txt",
                                              ".repro-gen/spec.yaml"]):
        spec = yaml.safe_load((group.root / ".repro-gen/spec.yaml").read_text())
        first = (group.root / "docker/train/Dockerfile").read_text().splitlines()[0]
        fw, accel = spec["training"]["framework"], spec["accelerator"]
        assert first == f"# Training image: {fw} on {phrase[accel]}, Python {spec['training']['python']}."
        header = (group.root / "training/requirements.txt").read_text().splitlines()[0]
        assert header.endswith(f"for {fw} on {phrase[accel]},"), header
        for text in (first, header):
            assert "hardware" not in text and " none " not in text


def test_readme_claims_a_run_outlives_the_lease_only_with_backups(matrix_trees):
    for group in matrix.groups(matrix_trees, ["README.md", ".repro-gen/spec.yaml"]):
        spec = yaml.safe_load((group.root / ".repro-gen/spec.yaml").read_text())
        text = " ".join(training_section(group.root).split())
        if spec["tracking"]["backups"]:
            assert "survives the end of a lease up to its last backup" in text, group.ids
            assert "make restore" in text
        else:
            assert "survives the end" not in text, group.ids
            assert "does not survive the end of its lease" in text, group.ids
        if spec["tracking"]["artifact_store"] == "minio":
            assert "in MinIO on the node" in text, group.ids


def _cuda_of(variant: str) -> tuple[int, int]:
    """PyTorch's local version label cu126 -> (12, 6)."""
    digits = variant.removeprefix("cu")
    return int(digits[:-1]), int(digits[-1])


def test_gpu_images_run_on_the_driver_of_chameleons_images(matrix_trees):
    """The NVIDIA image's torch is a CUDA build the CC-*-CUDA images' driver (560, CUDA 12.6:
    catalog.CUDA_IMAGE_*) can run, from PyTorch's index (PyPI's default torch is a CUDA 13 build
    needing driver 580), on a CUDA base no newer than that driver; the AMD image's torch is the
    ROCm build PyTorch publishes for the pinned release, on a base of the same ROCm."""
    from repro_gen import catalog

    driver_cuda = tuple(int(p) for p in catalog.CUDA_IMAGE_CUDA_VERSION.split("."))
    for group in matrix.groups(matrix_trees, ["training/requirements.txt",
                                              "docker/train/Dockerfile", ".repro-gen/spec.yaml"]):
        spec = yaml.safe_load((group.root / ".repro-gen/spec.yaml").read_text())
        requirements = (group.root / "training/requirements.txt").read_text()
        base = re.search(r"^ARG BASE_IMAGE=(\S+)$", (group.root / "docker/train/Dockerfile")
                         .read_text(), re.M)[1]
        torch = re.search(r"^torch==(\S+)$", requirements, re.M)
        accel = spec["accelerator"]
        if accel == "nvidia":
            cuda = re.fullmatch(r"nvidia/cuda:(\d+)\.(\d+)\.\d+-\S+", base)
            assert cuda and (int(cuda[1]), int(cuda[2])) <= driver_cuda, (group.ids, base)
            if torch:
                variant = torch[1].split("+")[1]
                assert variant.startswith("cu") and _cuda_of(variant) <= driver_cuda, group.ids
                assert f"--extra-index-url https://download.pytorch.org/whl/{variant}\n" \
                    in requirements, group.ids
        elif accel == "amd":
            rocm = re.fullmatch(r"rocm/dev-ubuntu-\d+\.\d+:(\d+\.\d+)(\.\d+)?", base)
            assert rocm, (group.ids, base)
            if torch:
                assert torch[1].endswith(f"+rocm{rocm[1]}"), (group.ids, torch)
                assert f"--extra-index-url https://download.pytorch.org/whl/rocm{rocm[1]}\n" \
                    in requirements, group.ids
        elif torch:
            assert torch[1].endswith("+cpu"), group.ids
