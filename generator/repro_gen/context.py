"""The render context: the validated spec plus the derived facts templates need.

Templates hold no policy; anything computed from several spec fields is computed here, once,
so every blueprint family reads the same answer.
"""

from __future__ import annotations

from typing import Any

from . import __version__, catalog
from .spec import Spec


def secret_names(spec: Spec) -> list[str]:
    """Variables of the generated repo's .env: created on first `make up`, never committed."""
    names = ["POSTGRES_PASSWORD", "MLFLOW_FLASK_SECRET_KEY"]
    if spec.tracking.artifact_store == "minio":
        names += ["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"]
    if spec.tracking.artifact_store == "chameleon" or spec.tracking.backups:
        names += ["CHAMELEON_S3_ACCESS_KEY", "CHAMELEON_S3_SECRET_KEY"]
    if spec.integrations.huggingface:
        names += ["HF_TOKEN"]
    return names


# Training image bases, pinned to exact tags. The GPU bases are Ubuntu 22.04 (the Dockerfile adds the
# spec's Python); the CPU base is the official Python image of the spec's version.
TRAINING_BASE_IMAGES: dict[str, str] = {
    "nvidia": "nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04",
    "amd": "rocm/dev-ubuntu-22.04:6.4.1",
}
PYTHON_IMAGE_TAGS: dict[str, str] = {
    "3.10": "3.10.19-slim-bookworm",
    "3.11": "3.11.14-slim-bookworm",
    "3.12": "3.12.12-slim-bookworm",
}


def training(spec: Spec) -> dict[str, Any]:
    """The training image: its local name and its pinned base."""
    accel = spec.accelerator or "none"
    base = TRAINING_BASE_IMAGES.get(accel, f"python:{PYTHON_IMAGE_TAGS[spec.training.python]}")
    return {
        "image": f"{spec.project.name}-train",
        "base_image": base,
    }


def build(spec: Spec) -> dict[str, Any]:
    """Everything a template may read. Templates get facts, never the filesystem."""
    return {
        "spec": spec,
        "site": spec.site,
        "hw": spec.hardware,
        "facts": {
            "network": catalog.NETWORK,
            "floating_ip_pool": catalog.FLOATING_IP_POOL,
            "ssh_user": catalog.SSH_USER,
            "max_lease_hours": catalog.MAX_LEASE_HOURS,
        },
        "secrets": secret_names(spec),
        "generator_version": __version__,
        "training": training(spec),
    }
