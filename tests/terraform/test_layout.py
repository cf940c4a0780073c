"""The right Terraform shape per site, for every combination of the matrix.

Bare metal: flavor "baremetal" plus the reservation scheduler hint, no security group (not
enforced there). KVM@TACC: the reserved flavor id, no hint, and a security group that opens SSH to
the spec's CIDRs only. Every site: N ports on sharednet1, one floating IP (the head node's),
the key pair, the user data, and spec values that round-trip through terraform.tfvars.
"""

from __future__ import annotations

import re

import yaml

from repro_gen import catalog, context
from repro_gen import spec as spec_mod
from tests import matrix

from .tf import TF_DIR, blocks, parse, parse_dir

SECRET_WORDS = re.compile(r"(password|application_credential_secret|token|secret)\s*=", re.I)


def _resources(tree):
    parsed = parse_dir(tree / TF_DIR)
    return {f"{t}.{n}": body for t, n, body in blocks(parsed, "resource")}, parsed


def test_shape_per_site_over_the_matrix(matrix_trees):
    for group in matrix.groups(matrix_trees, ("terraform/*",)):
        combo = group.combos[0]
        site = catalog.SITES[combo.site]
        res, parsed = _resources(group.root)
        instance = res["openstack_compute_instance_v2.node"]
        port = res["openstack_networking_port_v2.node"]
        fip = res["openstack_networking_floatingip_v2.head"]
        where = group.ids
        assert instance["count"] == port["count"] == "${length(var.node_names)}", where
        assert instance["network"] == [{"port": "${openstack_networking_port_v2.node[count.index].id}"}]
        # Names come from the context (terraform.tfvars), not rebuilt in HCL.
        assert instance["name"] == "${var.node_names[count.index]}", where
        assert instance["key_pair"] == "${var.key_pair}", where
        assert instance["image_name"] == "${var.image_name}", where
        assert "cloud-init.yaml" in instance["user_data"], where
        assert port["network_id"] == "${data.openstack_networking_network_v2.this.id}", where
        # One floating IP, on the head node's port only.
        assert "count" not in fip and "for_each" not in fip, where
        assert fip["port_id"] == "${openstack_networking_port_v2.node[0].id}", where
        assert fip["pool"] == "${var.floating_ip_pool}", where
        data = {f"{t}.{n}": b for t, n, b in blocks(parsed, "data")}
        assert data["openstack_networking_network_v2.this"]["name"] == "${var.network_name}"
        if site.is_baremetal:
            assert instance["flavor_name"] == "baremetal", where
            assert "flavor_id" not in instance, where
            assert instance["scheduler_hints"] == [
                {"additional_properties": {"reservation": "${var.reservation_id}"}}], where
            assert not any("secgroup" in name for name in res), where
            assert "security_group_ids" not in port, where
        else:
            assert instance["flavor_id"] == "${var.flavor_id}", where
            assert "flavor_name" not in instance and "scheduler_hints" not in instance, where
            ssh = res["openstack_networking_secgroup_rule_v2.ssh"]
            assert ssh["for_each"] == "${toset(var.ssh_cidrs)}", where
            assert (ssh["direction"], ssh["protocol"], ssh["port_range_min"],
                    ssh["port_range_max"]) == ("ingress", "tcp", 22, 22), where
            assert ssh["remote_ip_prefix"] == "${each.value}", where
            between = res["openstack_networking_secgroup_rule_v2.between_nodes"]
            assert "remote_ip_prefix" not in between, where
            assert between["remote_group_id"] == "${openstack_networking_secgroup_v2.this.id}"
            assert port["security_group_ids"] == ["${openstack_networking_secgroup_v2.this.id}"]
            # Nothing else in the group accepts traffic from an address range.
            rules = [b for n, b in res.items() if n.startswith("openstack_networking_secgroup_rule")]
            assert [r.get("remote_ip_prefix") for r in rules if "remote_ip_prefix" in r] == [
                "${each.value}"], where


def test_tfvars_carry_the_spec_values(matrix_trees):
    parsed: dict[bytes, dict] = {}  # each distinct file is parsed once; every combination checked
    for combo, tree in matrix_trees.items():
        spec = spec_mod.validate(combo.spec_data())
        path = tree / TF_DIR / "terraform.tfvars"
        content = path.read_bytes()
        if content not in parsed:
            parsed[content] = parse(path)
        tfvars = dict(parsed[content])
        tfvars.pop("__comments__", None)
        expected = {
            "cloud": spec.chameleon.cloud,
            "project_name": spec.project.name,
            "node_names": context.node_names(spec),
            "image_name": spec.chameleon.image,
            "key_pair": spec.chameleon.key_pair,
        }
        if not spec.site.is_baremetal:
            expected["ssh_cidrs"] = spec.chameleon.ssh_cidrs
        assert tfvars == expected, combo.id


def test_no_credentials_in_the_terraform_tree(matrix_trees):
    for variant in matrix.distinct_files(matrix_trees, (f"{TF_DIR}/*",)):
        text = variant.path.read_text()
        assert not SECRET_WORDS.search(text), variant.label
        assert "auth_url" not in text, variant.label


def test_user_data_is_cloud_config_with_key_only_ssh(matrix_trees):
    for group in matrix.groups(matrix_trees, ("terraform/cloud-init.yaml",)):
        text = (group.root / TF_DIR / "cloud-init.yaml").read_text()
        assert text.startswith("#cloud-config\n"), group.ids
        doc = yaml.safe_load(text)
        assert doc["ssh_pwauth"] is False and doc["disable_root"] is True, group.ids
        content = doc["write_files"][0]["content"]
        assert "PasswordAuthentication no" in content, group.ids


def test_lease_values_file_is_git_ignored(example_trees):
    for name, tree in example_trees.items():
        ignored = (tree / ".gitignore").read_text().splitlines()
        assert "terraform/lease.auto.tfvars.json" in ignored, name


def test_readme_explains_credentials_for_the_site(matrix_trees):
    for group in matrix.groups(matrix_trees, ("README.md",)):
        combo = group.combos[0]
        spec = spec_mod.validate(combo.spec_data())
        site = catalog.SITES[combo.site]
        readme = (group.root / "README.md").read_text()
        section = readme[readme.index("## Provisioning on Chameleon"):]
        for needed in ("application credential", "Unrestricted", "clouds.yaml",
                       f"  {spec.chameleon.cloud}:", f"auth_url: {site.auth_url}",
                       f'region_name: "{site.region}"', "auth_type: v3applicationcredential",
                       "-m ops lease create", "terraform/lease.auto.tfvars.json",
                       "unset"):
            assert needed in section, f"{needed!r} missing [{group.ids}]"
        assert ("does not enforce security groups" in section) == site.is_baremetal, group.ids
