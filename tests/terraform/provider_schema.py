"""Arguments and nested blocks of the terraform-provider-openstack 3.x resources the blueprints use.

Written from the provider's documentation (docs/resources/*.md and docs/data-sources/*.md of
terraform-provider-openstack, major version 3, the one pinned in versions.tf). The provider binary
cannot be downloaded here, so `terraform validate` is impossible; rendered resources are checked
against this table instead. Only arguments (what a configuration may set) are listed, not the
computed attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROVIDER_SOURCE = "terraform-provider-openstack/openstack"
PROVIDER_CONSTRAINT = "~> 3.0"

# Arguments every resource and data block accepts (Terraform itself, not the provider).
META_ARGUMENTS = frozenset({"count", "for_each", "depends_on", "provider", "lifecycle"})


@dataclass(frozen=True)
class Block:
    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    blocks: dict[str, Block] = field(default_factory=dict)
    # Groups of which exactly one argument must be set ("Required unless ..." in the docs).
    one_of: tuple[frozenset[str], ...] = ()
    # Pairs the documentation says conflict with each other.
    conflicts: tuple[frozenset[str], ...] = ()

    @property
    def arguments(self) -> frozenset[str]:
        return self.required | self.optional


def _b(required: str = "", optional: str = "", blocks: dict[str, Block] | None = None,
       one_of: tuple[str, ...] = (), conflicts: tuple[str, ...] = ()) -> Block:
    return Block(frozenset(required.split()), frozenset(optional.split()), blocks or {},
                 tuple(frozenset(g.split()) for g in one_of),
                 tuple(frozenset(g.split()) for g in conflicts))


RESOURCES: dict[str, Block] = {
    # docs/resources/compute_instance_v2.md
    "openstack_compute_instance_v2": _b(
        required="name",
        optional="region image_id image_name flavor_id flavor_name user_data security_groups"
                 " availability_zone_hints availability_zone network_mode metadata config_drive"
                 " admin_pass key_pair stop_before_destroy force_delete power_state tags",
        blocks={
            "network": _b(optional="uuid name port fixed_ip_v4 access_network",
                          one_of=("uuid name port",)),
            "block_device": _b(required="source_type",
                               optional="uuid volume_size guest_format boot_index destination_type"
                                        " delete_on_termination volume_type device_type disk_bus"
                                        " multiattach"),
            "scheduler_hints": _b(optional="group different_host same_host query target_cell"
                                           " different_cell build_near_host_ip"
                                           " additional_properties"),
            "personality": _b(required="file content"),
            "vendor_options": _b(optional="ignore_resize_confirmation detach_ports_before_destroy"),
        },
        # image: required unless booting from a volume (no block_device here, so required).
        one_of=("image_id image_name", "flavor_id flavor_name"),
        conflicts=("availability_zone availability_zone_hints", "network_mode network"),
    ),
    # docs/resources/networking_port_v2.md
    "openstack_networking_port_v2": _b(
        required="network_id",
        optional="region name description admin_state_up mac_address tenant_id device_owner"
                 " security_group_ids no_security_groups device_id no_fixed_ip"
                 " port_security_enabled value_specs tags dns_name qos_policy_id",
        blocks={
            "fixed_ip": _b(required="subnet_id", optional="ip_address"),
            "allowed_address_pairs": _b(required="ip_address", optional="mac_address"),
            "extra_dhcp_option": _b(required="name value", optional="ip_version"),
            "binding": _b(optional="host_id profile vnic_type"),
        },
        conflicts=("security_group_ids no_security_groups", "fixed_ip no_fixed_ip"),
    ),
    # docs/resources/networking_floatingip_v2.md
    "openstack_networking_floatingip_v2": _b(
        required="pool",
        optional="region description port_id tenant_id address fixed_ip subnet_id subnet_ids"
                 " value_specs tags dns_name dns_domain",
        conflicts=("subnet_id subnet_ids",),
    ),
    # docs/resources/networking_secgroup_v2.md
    "openstack_networking_secgroup_v2": _b(
        required="name",
        optional="region description tenant_id delete_default_rules stateful tags",
    ),
    # docs/resources/networking_secgroup_rule_v2.md
    "openstack_networking_secgroup_rule_v2": _b(
        required="direction ethertype security_group_id",
        optional="region description protocol port_range_min port_range_max remote_ip_prefix"
                 " remote_group_id tenant_id",
        conflicts=("remote_ip_prefix remote_group_id",),
    ),
}

DATA_SOURCES: dict[str, Block] = {
    # docs/data-sources/networking_network_v2.md
    "openstack_networking_network_v2": _b(
        optional="region network_id name description status external matching_subnet_cidr"
                 " tenant_id availability_zone_hints transparent_vlan tags mtu dns_domain",
    ),
}

# Resources removed in 3.x that older Chameleon examples still use.
REMOVED_IN_3 = frozenset({
    "openstack_compute_floatingip_associate_v2",
    "openstack_compute_floatingip_v2",
    "openstack_compute_secgroup_v2",
})
