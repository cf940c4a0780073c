"""The rendered lease settings (ops/project.json, "lease") match the spec for every combination,
and the ops package's pins are the versions the lease tests ran against."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata

from repro_gen import catalog
from repro_gen import spec as spec_mod
from tests import matrix


def test_lease_json_matches_the_spec_over_the_matrix(matrix_trees):
    for group in matrix.groups(matrix_trees, ("ops/project.json",)):
        config = json.loads((group.root / "ops" / "project.json").read_text())["lease"]
        for combo in group.combos:
            spec = spec_mod.validate(combo.spec_data())
            site = catalog.SITES[combo.site]
            expected = {
                "cloud": spec.chameleon.cloud, "site": site.name, "region": site.region,
                "kind": site.kind, "lease_name": spec.project.name,
                "node_count": spec.chameleon.node_count, "hours": spec.chameleon.lease_hours,
                "max_hours": catalog.MAX_LEASE_HOURS,
                "tfvars": "terraform/lease.auto.tfvars.json",
            }
            if site.is_baremetal:
                expected["node_type"] = spec.chameleon.node_type
            else:
                expected["flavor"] = spec.chameleon.flavor
            assert config == expected, combo.id


def test_tfvars_path_is_where_terraform_reads_it_and_git_ignores_it(example_trees):
    for name, tree in example_trees.items():
        config = json.loads((tree / "ops" / "project.json").read_text())["lease"]
        assert config["tfvars"].startswith("terraform/") and config["tfvars"].endswith(
            ".auto.tfvars.json"), name
        assert config["tfvars"] in (tree / ".gitignore").read_text().splitlines(), name


def test_requirements_are_exact_pins_matching_the_tested_versions(example_trees):
    tree = next(iter(example_trees.values()))
    lines = [line for line in (tree / "ops" / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!_-]+)", line)
        assert match, f"not an exact pin: {line}"
        name, version = match.groups()
        # The lease tests run the tool with whatever is installed: it must be what users get.
        assert metadata.version(name) == version, f"{name}: tested {metadata.version(name)}"


def test_lease_command_runs_without_the_openstack_clients(example_trees):
    """`--help` of the lease command needs only the standard library (the clients load later)."""
    tree = example_trees["minimal"]
    code = ("import sys, builtins; real = builtins.__import__\n"
            "def guard(name, *a, **k):\n"
            "    if name.split('.')[0] in ('openstack', 'blazarclient', 'keystoneauth1'):\n"
            "        raise ImportError(name)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = guard\n"
            "from ops.cli import main\n"
            "sys.exit(main(['lease', 'create', '--help']))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0 and "--start" in proc.stdout, proc.stderr
