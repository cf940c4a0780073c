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

# PyTorch's own wheel index per accelerator; NVIDIA uses PyPI's default (CUDA) build.
TORCH_INDEX: dict[str, str] = {"none": "cpu", "amd": "rocm6.4"}


def version(name: str) -> str:
    return PINS[name].version


def supported_pythons() -> tuple[str, ...]:
    """The Pythons every pinned package has a wheel for: the ones a spec may choose."""
    return tuple(py for py in CHECKED_PYTHONS if all(py in pin.pythons for pin in PINS.values()))


def without_wheels(python: str) -> list[str]:
    """`name==version` of each pin with no wheel for `python`."""
    return [f"{name}=={pin.version}" for name, pin in PINS.items() if python not in pin.pythons]
