"""Rendered Terraform is already in `terraform fmt` style, for every combination of the matrix."""

from __future__ import annotations

from tests import matrix

from .tf import TF_DIR, run_tf


def test_terraform_fmt_check_over_the_whole_matrix(matrix_trees):
    failures = []
    for group in matrix.groups(matrix_trees, ("terraform/*.tf", "terraform/*.tfvars",
                                              "terraform/modules/*/*.tf")):
        proc = run_tf(["fmt", "-check", "-diff", "-recursive", "."], group.root / TF_DIR,
                      check=False)
        if proc.returncode != 0:
            failures.append(f"[{group.ids}]\n{proc.stdout}{proc.stderr}")
    assert not failures, "terraform fmt would change:\n" + "\n".join(failures)


def test_terraform_fmt_check_on_every_example(example_trees):
    for name, tree in example_trees.items():
        proc = run_tf(["fmt", "-check", "-diff", "-recursive", "."], tree / TF_DIR, check=False)
        assert proc.returncode == 0, f"{name}: terraform fmt would change:\n{proc.stdout}{proc.stderr}"


def test_fmt_check_can_fail(tmp_path):
    # The check is only worth something if badly formatted HCL makes it fail.
    (tmp_path / "bad.tf").write_text('variable "x" {\ntype=string\n}\n')
    assert run_tf(["fmt", "-check", "."], tmp_path, check=False).returncode != 0
