"""The generated Makefile points Terraform and the lease tool at the same clouds.yaml: Terraform runs
with -chdir=terraform, where ./clouds.yaml is not found, so the Makefile exports OS_CLIENT_CONFIG_FILE
(which both honour) for the repository's clouds.yaml, unless the user set it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .test_lease_tool import BAREMETAL, tree_for


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_makefile_exports_the_repositorys_clouds_yaml(matrix_trees, tmp_path):
    tree = tree_for(matrix_trees, BAREMETAL, tmp_path / "t")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}

    def seen(**extra: str) -> str:
        proc = subprocess.run(["make", "-s", "--eval", "show-os: ; @echo \"[$${OS_CLIENT_CONFIG_FILE-}]\"",
                               "show-os"], cwd=tree, env={**env, **extra}, capture_output=True,
                              text=True, timeout=60, check=True)
        return proc.stdout.strip()

    assert seen() == "[]"
    (tree / "clouds.yaml").write_text("clouds: {}\n")
    assert seen() == f"[{tree / 'clouds.yaml'}]"
    assert seen(OS_CLIENT_CONFIG_FILE="/elsewhere/clouds.yaml") == "[/elsewhere/clouds.yaml]"
