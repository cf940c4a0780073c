"""The MLflow server image's base is the generator's pinned Python 3.11 image, over the whole
matrix: one list of Python image tags (repro_gen.context.PYTHON_IMAGE_TAGS), no second copy."""

from __future__ import annotations

import re

from repro_gen.context import MLFLOW_PYTHON, PYTHON_IMAGE_TAGS
from tests import matrix

DOCKERFILE = "docker/mlflow/Dockerfile"


def test_mlflow_base_image_is_the_pinned_python(matrix_trees):
    expected = f"python:{PYTHON_IMAGE_TAGS[MLFLOW_PYTHON]}"
    failures = []
    for group in matrix.groups(matrix_trees, [DOCKERFILE]):
        text = (group.root / DOCKERFILE).read_text()
        base = re.findall(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
        if base != [expected] or "FROM ${BASE_IMAGE}" not in text:
            failures.append(f"[{group.ids}] BASE_IMAGE {base}, expected {expected}")
    assert not failures, "\n".join(failures)
