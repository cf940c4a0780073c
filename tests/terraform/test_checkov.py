"""checkov finds nothing to fail in the rendered Terraform, and provably runs its OpenStack checks.

Any exception would be a `#checkov:skip=<id>:<reason>` comment in the generated file itself, next to
the resource it excuses; there is none today, and the test below lists any that appear.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from tests import matrix
from tests.conftest import require

from .tf import TF_DIR


def checkov(tf_dir) -> dict:
    exe = require("checkov", "install it in its own venv: it pins old boto3/packaging")
    proc = subprocess.run([exe, "-d", str(tf_dir), "--framework", "terraform",
                           "--skip-download", "-o", "json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.stdout.strip(), proc.stderr
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


def _ran(report) -> set[tuple[str, str]]:
    results = report.get("results", {})
    return {(c["check_id"], c["resource"]) for kind in ("passed_checks", "failed_checks")
            for c in results.get(kind, [])}


def test_checkov_passes_over_the_matrix(matrix_trees):
    failures, skipped = [], []
    for group in matrix.groups(matrix_trees, ("terraform/*.tf", "terraform/*.tfvars",
                                              "terraform/modules/*/*.tf")):
        report = checkov(group.root / TF_DIR)
        summary = report["summary"]
        assert summary["parsing_errors"] == 0, (group.ids, report)
        for check in report["results"].get("failed_checks", []):
            failures.append(f"{check['check_id']} {check['resource']} {check['check_name']} "
                            f"[{group.ids}]")
        for check in report["results"].get("skipped_checks", []):
            skipped.append(f"{check['check_id']} {check['resource']}: {check.get('suppress_comment')}")
        ran = _ran(report)
        # Not vacuous: the provider block and (where present) the SSH rule were examined.
        assert ("CKV_OPENSTACK_1", "openstack.default") in ran, group.ids
        if group.combos[0].site == "KVM@TACC":
            assert ("CKV_OPENSTACK_2", "openstack_networking_secgroup_rule_v2.ssh") in ran
    assert not failures, "\n".join(failures)
    # Every skip must carry its justification in the generated code.
    assert all(": " in s and not s.endswith(": None") for s in skipped), skipped


def test_checkov_would_catch_a_hard_coded_credential(matrix_trees, tmp_path):
    tree = next(iter(matrix_trees.values()))
    work = tmp_path / "tf"
    shutil.copytree(tree / TF_DIR, work)
    versions = work / "versions.tf"
    versions.write_text(versions.read_text().replace(
        "cloud = var.cloud", 'cloud    = var.cloud\n  password = "hunter2"'))
    failed = {c["check_id"] for c in checkov(work)["results"].get("failed_checks", [])}
    assert "CKV_OPENSTACK_1" in failed
