"""Exact versions of the training packages, and the Pythons each one publishes wheels for.

One table for both requirement files the training blueprints render: the image's
(training/requirements.txt: CUDA, ROCm or CPU builds) and the laptop's
(training/requirements-local.txt: CPU builds of the same versions). The spec refuses a Python
that some pin has no wheel for, so an image never fails in `pip install` on the node.

Wheel facts come from PyPI's file lists (Linux x86_64, CPython), checked for 3.10, 3.11 and 3.12 with
    pip index versions NAME --only-binary=:all: --python-version X.Y \\
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any
tests/training/test_pins.py re-checks them against PyPI when it is reachable.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every CPython the table was checked against.
CHECKED_PYTHONS = ("3.10", "3.11", "3.12")
_ALL = CHECKED_PYTHONS


@dataclass(frozen=True)
class Pin:
    version: str
    pythons: tuple[str, ...]  # CPython versions with a Linux x86_64 wheel of this version


PINS: dict[str, Pin] = {
    "mlflow": Pin("3.17.2", _ALL),
    "psutil": Pin("7.2.2", _ALL),
    "pyyaml": Pin("6.0.3", _ALL),
    # NVML: GPU facts for provenance and GPU utilisation in MLflow's system metrics (NVIDIA).
    "nvidia-ml-py": Pin("13.615.71", _ALL),
    # ROCm SMI bindings: MLflow's system metrics read AMD GPU utilisation through them.
    "pyrsmi": Pin("1.1.0", _ALL),
    # No Python 3.10 wheel (nor for transformers 5 and scikit-learn 1.9 below).
    "numpy": Pin("2.4.6", ("3.11", "3.12")),
    "torch": Pin("2.13.0", _ALL),
    "lightning": Pin("2.6.6", _ALL),
    "transformers": Pin("5.24.0", ("3.11", "3.12")),
    "accelerate": Pin("1.15.0", _ALL),
    "scikit-learn": Pin("1.9.1", ("3.11", "3.12")),
    "tensorflow": Pin("2.21.0", _ALL),
}



@dataclass(frozen=True)
class TorchBuild:
    """The PyTorch build (and training-image base) for one accelerator."""

    # PyTorch's local version label, which is also its wheel index: torch==2.13.0+cu126 comes
    # from download.pytorch.org/whl/cu126.
    variant: str
    # The training image's base, pinned to an exact tag (None: the official Python image).
    base_image: str | None
    # What the build runs on, as a phrase for messages and comments.
    runtime: str
    # CUDA version the node's driver must support (nvidia-smi's "CUDA Version"); None off NVIDIA.
    cuda: str | None = None
    # Lowest and highest NVIDIA compute capability the build has kernels for.
    compute_capabilities: tuple[str, str] | None = None


# Builds PyTorch publishes for torch 2.13: pytorch/pytorch RELEASE.md, "Release Compatibility
# Matrix" (2.13: stable CUDA 12.6 and 13.0, stable ROCm 7.2) and "PyTorch CUDA Support Matrix"
# (CUDA 12.6.3 builds: Maxwell 5.0, Pascal 6.0, Volta 7.0, Turing 7.5, Ampere 8.0/8.6, Hopper 9.0;
# CUDA 13 builds start at Turing 7.5). PyPI's default torch wheel is the CUDA 13 build, which
# needs driver >= 580 (NVIDIA CUDA Toolkit release notes, "CUDA Toolkit and Minimum Required
# Driver Version"), while Chameleon's CUDA images ship driver 560 with CUDA 12.6
# (catalog.CUDA_IMAGE_DRIVER_BRANCH): so the image takes the CUDA 12.6 build, which runs on that
# driver and on every NVIDIA type the catalog offers (Maxwell M40 to Hopper H100).
# The base images carry the same runtimes: nvidia/cuda:12.6.3 sets NVIDIA_REQUIRE_CUDA=cuda>=12.6,
# which the container toolkit checks against the driver; the ROCm wheel bundles ROCm 7.2's user
# space, which needs only the kernel's amdgpu driver on the node (CC-Ubuntu24.04-ROCm runs the
# HWE kernel and installs no amdgpu-dkms; its ROCm 6.3.3 packages provide rocm-smi).
TORCH_BUILDS: dict[str, TorchBuild] = {
    "nvidia": TorchBuild("cu126", "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04", "CUDA 12.6",
                         cuda="12.6", compute_capabilities=("5.0", "9.0")),
    "amd": TorchBuild("rocm7.2", "rocm/dev-ubuntu-22.04:7.2.3", "ROCm 7.2"),
    "none": TorchBuild("cpu", None, "CPU"),
}


# Images of the tracking stack, pinned to exact releases. MinIO: Docker Hub's minio/minio
# repository is gone since 2026-09 (it answers 404); MinIO serves its releases from quay.io
# (quay.io/minio/minio, the registry MinIO's own docs name; team brief CHAMELEON.md, "Images").
SERVICE_IMAGES: dict[str, str] = {
    "postgres": "postgres:17.6-bookworm",
    "minio": "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
}

# Python base images, pinned to exact releases: the CPU training image (the spec's Python) and
# the MLflow server (MLFLOW_PYTHON, the Python docker/mlflow/requirements.txt is resolved for).
PYTHON_IMAGE_TAGS: dict[str, str] = {
    "3.11": "3.11.14-slim-bookworm",
    "3.12": "3.12.12-slim-bookworm",
}
MLFLOW_PYTHON = "3.11"

# The ops tools `make tools` installs into the generated repository's .venv (tools/requirements.txt),
# the versions its roles and playbooks are tested with. boto3 matches the MLflow server's lock.
OPS_TOOLS: dict[str, str] = {
    "ansible": "12.3.0",
    "ansible-core": "2.19.14",
    "ansible-lint": "26.10.1",
    "yamllint": "1.38.0",
    "boto3": "1.43.11",
    # boto3's own release of botocore: the end-to-end test's `ops backup list` passes with it, while
    # the newer 1.43.127 that pip otherwise picks (and the MLflow server's lock holds) got 403 on
    # HeadBucket from the object store stand-in (SeaweedFS), not yet explained.
    "botocore": "1.43.11",
}
# The lease tool's clients (lease/requirements.txt).
LEASE_TOOLS: dict[str, str] = {
    "python-blazarclient": "4.6.0",
    "python-openstackclient": "10.5.0",
    "openstacksdk": "4.22.0",
    "keystoneauth1": "5.18.1",
}
# Ansible collections the roles use, at the releases the `ansible` package above carries
# (ansible/requirements.yml).
ANSIBLE_COLLECTIONS: dict[str, str] = {
    "ansible.posix": "2.1.0",
    "community.docker": "4.8.5",
    "community.general": "11.4.2",
}
# Terraform and the OpenStack provider (terraform/versions.tf). The provider's minor series is the
# one its schema table was extracted from (tests/terraform/provider_schema_data.py).
TERRAFORM_VERSION = ">= 1.6.0, < 2.0.0"
OPENSTACK_PROVIDER = ("terraform-provider-openstack/openstack", "~> 3.4.0")

def version(name: str) -> str:
    return PINS[name].version


def supported_pythons() -> tuple[str, ...]:
    """The Pythons every pinned package has a wheel for: the ones a spec may choose."""
    return tuple(py for py in CHECKED_PYTHONS if all(py in pin.pythons for pin in PINS.values()))


def without_wheels(python: str) -> list[str]:
    """`name==version` of each pin with no wheel for `python`."""
    return [f"{name}=={pin.version}" for name, pin in PINS.items() if python not in pin.pythons]
