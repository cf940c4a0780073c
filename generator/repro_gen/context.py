"""The render context: the validated spec plus the derived facts templates need.

Templates hold no policy; anything computed from several spec fields is computed here, once,
so every blueprint family reads the same answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import __version__, catalog, pins

if TYPE_CHECKING:
    from .spec import Spec as _Model
    from .specdata import SpecRecord

    # A validated spec: the model, or the same spec read back from the cache.
    Spec = _Model | SpecRecord

# Secrets the user brings (EC2 credentials, tokens); every other secret is generated at random.
USER_SECRETS = ("CHAMELEON_S3_ACCESS_KEY", "CHAMELEON_S3_SECRET_KEY", "HF_TOKEN")


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


def node_names(spec: Spec) -> list[str]:
    """Instance names, `<project>-1` … `<project>-N`; node 1 is the head (tracking, SSH jump host)."""
    return [f"{spec.project.name}-{i}" for i in range(1, spec.chameleon.node_count + 1)]


def lease_name(spec: Spec) -> str:
    """The Blazar lease name: one lease per project and site, found again by this name."""
    return spec.project.name


def tracking_facts(spec: Spec) -> dict[str, Any]:
    """Names the tracking stack, its role, the backup tooling and the training side share."""
    name = spec.project.name
    return {
        # Fixed network name: compose/train.yml joins it and reaches MLflow at `url`.
        "network": "repro-tracking",
        "url": "http://mlflow:5000",
        "port": 5000,
        # The tracking stack's compose project on the head node.
        "compose_project": f"{name}-tracking",
        # Where the repo is installed on the head node, and its data (the node's local disk).
        "node_dir": f"/opt/{name}",
        "data_dir": f"/opt/{name}/data",
        "bucket": f"{name}-mlflow" if spec.tracking.artifact_store == "chameleon" else "mlflow",
        "backup_bucket": f"{name}-backups",
        "backup_unit": f"{name}-backup",
        "generated_secrets": [n for n in secret_names(spec) if n not in USER_SECRETS],
        "user_secrets": [n for n in secret_names(spec) if n in USER_SECRETS],
        "user_secret_hints": _user_secret_hints(spec),
        # The MLflow server's base image: Python 3.11, which docker/mlflow/requirements.txt is
        # resolved for, whatever Python the training code uses.
        "mlflow_base_image": f"python:{PYTHON_IMAGE_TAGS[MLFLOW_PYTHON]}",
        "images": pins.SERVICE_IMAGES,
        # Images built on the node: named for the project, tagged with what they carry.
        "mlflow_image": f"{name}-mlflow:{pins.version('mlflow')}",
        "backup_image": f"{name}-backup:{_release(pins.SERVICE_IMAGES['postgres'])}",
    }


def _release(image: str) -> str:
    """`postgres:17.6-bookworm` -> `17.6`: the release an image tag names."""
    return image.rsplit(":", 1)[1].split("-", 1)[0]


def _user_secret_hints(spec: Spec) -> dict[str, str]:
    # KVM@TACC has no object store of its own; it uses CHI@TACC's (same credentials realm).
    store_site = "CHI@TACC" if spec.site.name == "KVM@TACC" else spec.site.name
    return {
        "CHAMELEON_S3_ACCESS_KEY": f"`openstack ec2 credentials create` at {store_site}: 'access'",
        "CHAMELEON_S3_SECRET_KEY": f"`openstack ec2 credentials create` at {store_site}: 'secret'",
        "HF_TOKEN": "a Hugging Face access token (huggingface.co/settings/tokens)",
    }


# Training image bases come from pins.TORCH_BUILDS: the GPU bases are Ubuntu 22.04 (the Dockerfile
# adds the spec's Python); the CPU base is the official Python image of the spec's version
# (pins.PYTHON_IMAGE_TAGS).
PYTHON_IMAGE_TAGS = pins.PYTHON_IMAGE_TAGS
MLFLOW_PYTHON = pins.MLFLOW_PYTHON


def training(spec: Spec) -> dict[str, Any]:
    """The training image: its local name and its pinned base."""
    build = pins.TORCH_BUILDS[spec.accelerator or "none"]
    return {
        "image": f"{spec.project.name}-train",
        # The training service's compose project, and where the repository lives on each node.
        "compose_project": f"{spec.project.name}-train",
        "project_dir": f"/home/{catalog.SSH_USER}/{spec.project.name}",
        "base_image": build.base_image or f"python:{PYTHON_IMAGE_TAGS[spec.training.python]}",
        # Exact versions for both requirement files (image and laptop), from one table.
        "pins": {name: pin.version for name, pin in pins.PINS.items()},
        # The framework's facts (catalog.FRAMEWORK_TABLE): engine, packages, recorded version.
        "framework": catalog.FRAMEWORK_TABLE[spec.training.framework],
        # The image's PyTorch build (index and local version label), e.g. cu126 or rocm7.2.
        "torch_build": build,
        # What the node's driver must support before the image is built (None off NVIDIA).
        "cuda": build.cuda,
        "cuda_image_driver": catalog.CUDA_IMAGE_DRIVER_BRANCH,
    }


def lease_settings(spec: Spec) -> dict[str, Any]:
    """What the lease command asks Blazar for (ops/project.json, "lease")."""
    site = spec.site
    hardware = ({"node_type": spec.chameleon.node_type} if site.is_baremetal
                else {"flavor": spec.chameleon.flavor})
    return {
        "cloud": spec.chameleon.cloud, "site": site.name, "region": site.region,
        "kind": site.kind, "lease_name": lease_name(spec), **hardware,
        "node_count": spec.chameleon.node_count, "hours": spec.chameleon.lease_hours,
        "max_hours": catalog.MAX_LEASE_HOURS, "tfvars": "terraform/lease.auto.tfvars.json",
    }


# The files of the generated ops package (blueprints/ops): the mlflow_stack role ships them to the
# head node, where the backup service runs `python3 -m ops backup run` and `ops restore run`.
OPS_FILES = ("__init__.py", "__main__.py", "ansible.py", "backup.py", "check.py", "cli.py",
             "lease.py", "node.py", "project.json", "restore.py", "secrets.py", "settings.py",
             "status.py", "steps.py", "teardown.py", "terraform.py", "training.py")


def ops_settings(spec: Spec) -> dict[str, Any]:
    """The generated repository's ops/project.json: every project-specific value the ops package
    reads, so that its modules ship verbatim."""
    tracking, train = tracking_facts(spec), training(spec)
    return {
        "project": spec.project.name,
        "site": spec.site.name,
        "hardware": f"{spec.chameleon.node_count} x {spec.hardware_name}",
        "accelerator": spec.accelerator,
        "lease": lease_settings(spec),
        "secrets": {
            "generated": tracking["generated_secrets"],
            "user_provided": {n: tracking["user_secret_hints"][n] for n in tracking["user_secrets"]},
            # May stay empty: the stack works without them.
            "optional": ["HF_TOKEN"],
        },
        "tracking": {
            "node_dir": tracking["node_dir"],
            "compose_project": tracking["compose_project"],
            # .env holds the stack's secrets (root's, mode 0600), tracking.env the role's settings.
            "env_files": [".env", "tracking.env"],
            "compose_file": "compose/tracking.yml",
        },
        "backups": {
            "enabled": spec.tracking.backups,
            "unit": tracking["backup_unit"],
            "schedule": spec.tracking.backup_schedule,
            "endpoint": spec.site.object_store_url,
            "bucket": tracking["backup_bucket"],
            "prefix": "tracking/",
            "artifact_bucket": tracking["bucket"],
            "keep_days": spec.tracking.backup_keep_days,
        },
        "training": {
            "dir": train["project_dir"],
            "entry_point": spec.training.entry_point,
            "seed": spec.training.seed,
            "compose_file": "compose/train.yml",
            "env_files": ["compose/.env.train"]
            + (["compose/.env.train.secrets"] if spec.integrations.huggingface else []),
        },
    }


def build(spec: Spec) -> dict[str, Any]:
    """Everything a template may read. Templates get facts, never the filesystem."""
    return {
        "spec": spec,
        "site": spec.site,
        "hw": spec.hardware,
        "facts": {
            "sites": list(catalog.SITES.values()),
            "network": catalog.NETWORK,
            "floating_ip_pool": catalog.FLOATING_IP_POOL,
            "ssh_user": catalog.SSH_USER,
            "max_lease_hours": catalog.MAX_LEASE_HOURS,
            "rocm_bin_dir": catalog.ROCM_BIN_DIR,
        },
        "secrets": secret_names(spec),
        "node_names": node_names(spec),
        "lease_name": lease_name(spec),
        "tracking": tracking_facts(spec),
        "generator_version": __version__,
        # Every version a template writes, from pins.py (the one table of versions).
        "versions": {
            "ops_tools": pins.OPS_TOOLS,
            "lease_tools": pins.LEASE_TOOLS,
            "ansible_collections": pins.ANSIBLE_COLLECTIONS,
            "terraform": pins.TERRAFORM_VERSION,
            "openstack_provider": pins.OPENSTACK_PROVIDER,
        },
        "training": training(spec),
        "ops": ops_settings(spec),
        "ops_files": OPS_FILES,
    }
