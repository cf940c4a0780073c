"""Validation blocks in variables.tf accept what the spec accepts and reject what it rejects.

Oracle: the real terraform binary planning a variables-only configuration (the rendered
variables.tf and terraform.tfvars, plus the lease.auto.tfvars.json the lease step writes). Such a
configuration needs no provider, so it runs offline.
"""

from __future__ import annotations

import json

import pytest

from repro_gen import spec as spec_mod
from tests import matrix

from .tf import FLAVOR_ID, RESERVATION_ID, init, run_tf, variables_only

BAREMETAL = "chi-uc-nvidia-pytorch-minio-n1"
KVM = "kvm-tacc-none-sklearn-minio-n2"

# (variable, bad value as an HCL expression for -var, words expected in the error message)
BAD_COMMON = [
    ("cloud", "chi uc", "clouds.yaml entry"),
    ("cloud", "", "clouds.yaml entry"),
    ("project_name", "My-Project", "project_name"),
    ("project_name", "ab", "project_name"),
    ("project_name", "trailing-", "project_name"),
    ("node_names", "[]", "from 1 to 8 nodes"),
    ("node_names", json.dumps([f"p-{i}" for i in range(1, 10)]), "from 1 to 8 nodes"),
    ("node_names", '["proj-1", "Proj-2"]', "lowercase letters"),
    ("node_names", '["proj-1", "proj-"]', "lowercase letters"),
    ("node_names", '["proj-1", "proj-1"]', "must all differ"),
    ("image_name", "CC Ubuntu", "image name"),
    ("key_pair", "my key", "key pair name"),
    ("reservation_id", "not-a-uuid", "reservation UUID"),
    ("reservation_id", "3F0C9A4E-8D2B-4C1E-9F6A-2B7D5E8C1A90x", "reservation UUID"),
    ("ssh_user", "Root User", "Linux user name"),
    ("network_name", "", "must not be empty"),
]
BAD_KVM = [
    ("ssh_cidrs", "[]", "from 1 to 16 networks"),
    ("ssh_cidrs", '["0.0.0.0/0"]', "whole internet"),
    ("ssh_cidrs", '["::/0"]', "whole internet"),
    ("ssh_cidrs", '["203.0.113.7"]', "CIDR block"),
    ("ssh_cidrs", '["not-a-network/24"]', "CIDR block"),
    ("ssh_cidrs", '["203.0.113.7/24"]', "host bits zero"),
    ("flavor_id", "", "reserved flavor"),
]
GOOD_KVM = [
    ("ssh_cidrs", '["203.0.113.7/32", "2001:db8::/32"]'),
    ("ssh_cidrs", json.dumps([f"10.{i}.0.0/16" for i in range(16)])),
]


def _plan(workdir, extra=()):
    return run_tf(["plan", "-input=false", "-lock=false", "-refresh=false", *extra], workdir,
                  check=False)


def test_rendered_values_pass_validation_over_the_matrix(matrix_trees, tmp_path):
    failures = []
    for i, group in enumerate(matrix.groups(matrix_trees, ("terraform/variables.tf",
                                                           "terraform/terraform.tfvars"))):
        work = variables_only(group.root, tmp_path / f"g{i}")
        init(work)
        proc = _plan(work)
        if proc.returncode != 0:
            failures.append(f"[{group.ids}]\n{proc.stdout}{proc.stderr}")
    assert not failures, "\n".join(failures)


@pytest.fixture(scope="module")
def planned(tmp_path_factory, matrix_trees):
    """{combo id: initialised variables-only configuration}, for one bare-metal and one KVM combo."""
    trees = {c.id: p for c, p in matrix_trees.items()}
    out = {}
    for combo_id in (BAREMETAL, KVM):
        work = variables_only(trees[combo_id], tmp_path_factory.mktemp(combo_id))
        init(work)
        out[combo_id] = work
    return out


@pytest.mark.parametrize("combo_id", [BAREMETAL, KVM])
@pytest.mark.parametrize(("variable", "value", "message"), BAD_COMMON,
                         ids=[f"{v}={x!r}" for v, x, _ in BAD_COMMON])
def test_bad_common_values_are_rejected(planned, combo_id, variable, value, message):
    proc = _plan(planned[combo_id], ["-var", f"{variable}={value}"])
    assert proc.returncode != 0, f"{variable}={value!r} was accepted"
    text = " ".join((proc.stdout + proc.stderr).split())
    assert "Invalid value for variable" in text and message in text, text


@pytest.mark.parametrize(("variable", "value", "message"), BAD_KVM,
                         ids=[f"{v}={x!r}" for v, x, _ in BAD_KVM])
def test_bad_kvm_values_are_rejected(planned, variable, value, message):
    proc = _plan(planned[KVM], ["-var", f"{variable}={value}"])
    assert proc.returncode != 0, f"{variable}={value!r} was accepted"
    text = " ".join((proc.stdout + proc.stderr).split())
    assert message in text, text


@pytest.mark.parametrize(("variable", "value"), GOOD_KVM, ids=[v for v, _ in GOOD_KVM])
def test_good_kvm_values_are_accepted(planned, variable, value):
    proc = _plan(planned[KVM], ["-var", f"{variable}={value}"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("cidr", ["203.0.113.7/32", "198.51.100.0/24", "2001:db8::/48"])
def test_spec_and_terraform_agree_on_ssh_cidrs(planned, cidr):
    # Whatever the spec accepts, its normalized form passes the Terraform validation too.
    data = {"project": {"name": "agree-test"},
            "chameleon": {"site": "KVM@TACC", "flavor": "m1.large", "ssh_cidrs": [cidr]}}
    normalized = spec_mod.validate(data).chameleon.ssh_cidrs
    proc = _plan(planned[KVM], ["-var", f"ssh_cidrs={json.dumps(normalized)}"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_missing_lease_values_fail_with_a_hint(matrix_trees, tmp_path):
    tree = next(p for c, p in matrix_trees.items() if c.id == BAREMETAL)
    work = variables_only(tree, tmp_path / "nolease", lease_values={})
    init(work)
    proc = _plan(work)
    assert proc.returncode != 0
    assert "reservation_id" in proc.stdout + proc.stderr


def test_lease_values_of_the_right_shape_are_accepted(planned):
    proc = _plan(planned[KVM], ["-var", f"reservation_id={RESERVATION_ID}",
                                "-var", f"flavor_id={FLAVOR_ID}"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
