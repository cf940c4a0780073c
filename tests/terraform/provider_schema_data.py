"""Provider schemas extracted from terraform-provider-openstack v3.4.0. GENERATED: do not edit.

Repository: https://github.com/terraform-provider-openstack/terraform-provider-openstack
Tag: v3.4.0
Commit: 4fd8eba1f85edfdc7aed2d17bae3f3c814abad41
Regenerate: python3 tools/provider_schema_from_go.py --repo <provider checkout> --ref v3.4.0

mode: 'required' or 'optional' (a configuration may set it) or 'computed' (only the
provider sets it; a configuration that sets it is rejected); 'computed': True on an optional
attribute means the provider fills it in when unset. 'block': a nested block's
attributes (Elem: &schema.Resource); 'elem': the element type of a list/set/map argument.
Attribute names in conflicts_with, exactly_one_of, at_least_one_of and required_with are
absolute paths from the resource (nested ones look like 'block.0.attribute').
"""

REPOSITORY = 'https://github.com/terraform-provider-openstack/terraform-provider-openstack'
TAG = 'v3.4.0'
COMMIT = '4fd8eba1f85edfdc7aed2d17bae3f3c814abad41'

# Resource types the tag no longer has (checked against provider.go and openstack/*.go).
REMOVED = [
    'openstack_compute_floatingip_associate_v2',
    'openstack_compute_floatingip_v2',
    'openstack_compute_secgroup_v2',
]

RESOURCES = {
    'openstack_compute_instance_v2': {
        'source': 'openstack/resource_openstack_compute_instance_v2.go',
        'attributes': {
            'access_ip_v4': {'mode': 'computed', 'type': 'TypeString'},
            'access_ip_v6': {'mode': 'computed', 'type': 'TypeString'},
            'admin_pass': {'mode': 'optional', 'type': 'TypeString'},
            'all_metadata': {'mode': 'computed', 'type': 'TypeMap'},
            'all_tags': {'mode': 'computed', 'type': 'TypeSet', 'elem': 'TypeString'},
            'availability_zone': {
                'mode': 'optional',
                'type': 'TypeString',
                'computed': True,
                'conflicts_with': ['availability_zone_hints'],
            },
            'availability_zone_hints': {
                'mode': 'optional',
                'type': 'TypeString',
                'conflicts_with': ['availability_zone'],
            },
            'block_device': {
                'mode': 'optional',
                'type': 'TypeList',
                'block': {
                    'boot_index': {'mode': 'optional', 'type': 'TypeInt'},
                    'delete_on_termination': {'mode': 'optional', 'type': 'TypeBool'},
                    'destination_type': {'mode': 'optional', 'type': 'TypeString'},
                    'device_type': {'mode': 'optional', 'type': 'TypeString'},
                    'disk_bus': {'mode': 'optional', 'type': 'TypeString'},
                    'guest_format': {'mode': 'optional', 'type': 'TypeString'},
                    'multiattach': {'mode': 'optional', 'type': 'TypeBool'},
                    'source_type': {'mode': 'required', 'type': 'TypeString'},
                    'uuid': {'mode': 'optional', 'type': 'TypeString'},
                    'volume_size': {'mode': 'optional', 'type': 'TypeInt'},
                    'volume_type': {'mode': 'optional', 'type': 'TypeString'},
                },
            },
            'config_drive': {'mode': 'optional', 'type': 'TypeBool'},
            'created': {'mode': 'computed', 'type': 'TypeString'},
            'flavor_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'flavor_name': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'force_delete': {'mode': 'optional', 'type': 'TypeBool'},
            'hypervisor_hostname': {
                'mode': 'optional',
                'type': 'TypeString',
                'computed': True,
                'conflicts_with': ['personality'],
            },
            'image_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'image_name': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'key_pair': {'mode': 'optional', 'type': 'TypeString'},
            'metadata': {'mode': 'optional', 'type': 'TypeMap'},
            'name': {'mode': 'required', 'type': 'TypeString'},
            'network': {
                'mode': 'optional',
                'type': 'TypeList',
                'computed': True,
                'block': {
                    'access_network': {'mode': 'optional', 'type': 'TypeBool'},
                    'fixed_ip_v4': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
                    'fixed_ip_v6': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
                    'mac': {'mode': 'computed', 'type': 'TypeString'},
                    'name': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
                    'port': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
                    'uuid': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
                },
            },
            'network_mode': {
                'mode': 'optional',
                'type': 'TypeString',
                'conflicts_with': ['network'],
            },
            'personality': {
                'mode': 'optional',
                'type': 'TypeSet',
                'conflicts_with': ['hypervisor_hostname'],
                'block': {
                    'content': {'mode': 'required', 'type': 'TypeString'},
                    'file': {'mode': 'required', 'type': 'TypeString'},
                },
            },
            'power_state': {'mode': 'optional', 'type': 'TypeString'},
            'region': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'scheduler_hints': {
                'mode': 'optional',
                'type': 'TypeSet',
                'block': {
                    'additional_properties': {'mode': 'optional', 'type': 'TypeMap'},
                    'build_near_host_ip': {'mode': 'optional', 'type': 'TypeString'},
                    'different_cell': {
                        'mode': 'optional',
                        'type': 'TypeList',
                        'elem': 'TypeString',
                    },
                    'different_host': {
                        'mode': 'optional',
                        'type': 'TypeList',
                        'elem': 'TypeString',
                    },
                    'group': {'mode': 'optional', 'type': 'TypeString'},
                    'query': {'mode': 'optional', 'type': 'TypeList', 'elem': 'TypeString'},
                    'same_host': {'mode': 'optional', 'type': 'TypeList', 'elem': 'TypeString'},
                    'target_cell': {'mode': 'optional', 'type': 'TypeString'},
                },
            },
            'security_groups': {
                'mode': 'optional',
                'type': 'TypeSet',
                'computed': True,
                'elem': 'TypeString',
            },
            'stop_before_destroy': {'mode': 'optional', 'type': 'TypeBool'},
            'tags': {'mode': 'optional', 'type': 'TypeSet', 'elem': 'TypeString'},
            'updated': {'mode': 'computed', 'type': 'TypeString'},
            'user_data': {'mode': 'optional', 'type': 'TypeString'},
            'vendor_options': {
                'mode': 'optional',
                'type': 'TypeSet',
                'min_items': 1,
                'max_items': 1,
                'block': {
                    'detach_ports_before_destroy': {'mode': 'optional', 'type': 'TypeBool'},
                    'ignore_resize_confirmation': {'mode': 'optional', 'type': 'TypeBool'},
                },
            },
        },
    },
    'openstack_networking_floatingip_v2': {
        'source': 'openstack/resource_openstack_networking_floatingip_v2.go',
        'attributes': {
            'address': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'all_tags': {'mode': 'computed', 'type': 'TypeSet', 'elem': 'TypeString'},
            'description': {'mode': 'optional', 'type': 'TypeString'},
            'dns_domain': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'dns_name': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'fixed_ip': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'pool': {'mode': 'required', 'type': 'TypeString'},
            'port_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'region': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'subnet_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'subnet_ids': {
                'mode': 'optional',
                'type': 'TypeList',
                'conflicts_with': ['subnet_id'],
                'elem': 'TypeString',
            },
            'tags': {'mode': 'optional', 'type': 'TypeSet', 'elem': 'TypeString'},
            'tenant_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'value_specs': {'mode': 'optional', 'type': 'TypeMap'},
        },
    },
    'openstack_networking_port_v2': {
        'source': 'openstack/resource_openstack_networking_port_v2.go',
        'attributes': {
            'admin_state_up': {'mode': 'optional', 'type': 'TypeBool', 'computed': True},
            'all_fixed_ips': {'mode': 'computed', 'type': 'TypeList', 'elem': 'TypeString'},
            'all_security_group_ids': {'mode': 'computed', 'type': 'TypeSet', 'elem': 'TypeString'},
            'all_tags': {'mode': 'computed', 'type': 'TypeSet', 'elem': 'TypeString'},
            'allowed_address_pairs': {
                'mode': 'optional',
                'type': 'TypeSet',
                'block': {
                    'ip_address': {'mode': 'required', 'type': 'TypeString'},
                    'mac_address': {'mode': 'optional', 'type': 'TypeString'},
                },
            },
            'binding': {
                'mode': 'optional',
                'type': 'TypeList',
                'computed': True,
                'max_items': 1,
                'block': {
                    'host_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
                    'profile': {'mode': 'optional', 'type': 'TypeString'},
                    'vif_details': {'mode': 'computed', 'type': 'TypeMap'},
                    'vif_type': {'mode': 'computed', 'type': 'TypeString'},
                    'vnic_type': {'mode': 'optional', 'type': 'TypeString'},
                },
            },
            'description': {'mode': 'optional', 'type': 'TypeString'},
            'device_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'device_owner': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'dns_assignment': {'mode': 'computed', 'type': 'TypeList', 'elem': 'TypeMap'},
            'dns_name': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'extra_dhcp_option': {
                'mode': 'optional',
                'type': 'TypeSet',
                'block': {
                    'ip_version': {'mode': 'optional', 'type': 'TypeInt'},
                    'name': {'mode': 'required', 'type': 'TypeString'},
                    'value': {'mode': 'required', 'type': 'TypeString'},
                },
            },
            'fixed_ip': {
                'mode': 'optional',
                'type': 'TypeList',
                'conflicts_with': ['no_fixed_ip'],
                'block': {
                    'ip_address': {'mode': 'optional', 'type': 'TypeString'},
                    'subnet_id': {'mode': 'optional', 'type': 'TypeString'},
                },
            },
            'mac_address': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'name': {'mode': 'optional', 'type': 'TypeString'},
            'network_id': {'mode': 'required', 'type': 'TypeString'},
            'no_fixed_ip': {'mode': 'optional', 'type': 'TypeBool', 'conflicts_with': ['fixed_ip']},
            'no_security_groups': {'mode': 'optional', 'type': 'TypeBool'},
            'port_security_enabled': {'mode': 'optional', 'type': 'TypeBool', 'computed': True},
            'qos_policy_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'region': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'security_group_ids': {'mode': 'optional', 'type': 'TypeSet', 'elem': 'TypeString'},
            'tags': {'mode': 'optional', 'type': 'TypeSet', 'elem': 'TypeString'},
            'tenant_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'value_specs': {'mode': 'optional', 'type': 'TypeMap'},
        },
    },
    'openstack_networking_secgroup_rule_v2': {
        'source': 'openstack/resource_openstack_networking_secgroup_rule_v2.go',
        'attributes': {
            'description': {'mode': 'optional', 'type': 'TypeString'},
            'direction': {'mode': 'required', 'type': 'TypeString'},
            'ethertype': {'mode': 'required', 'type': 'TypeString'},
            'port_range_max': {
                'mode': 'optional',
                'type': 'TypeInt',
                'required_with': ['port_range_min', 'protocol'],
            },
            'port_range_min': {
                'mode': 'optional',
                'type': 'TypeInt',
                'required_with': ['port_range_max', 'protocol'],
            },
            'protocol': {'mode': 'optional', 'type': 'TypeString'},
            'region': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'remote_address_group_id': {
                'mode': 'optional',
                'type': 'TypeString',
                'computed': True,
                'conflicts_with': ['remote_group_id', 'remote_ip_prefix'],
            },
            'remote_group_id': {
                'mode': 'optional',
                'type': 'TypeString',
                'computed': True,
                'conflicts_with': ['remote_address_group_id', 'remote_ip_prefix'],
            },
            'remote_ip_prefix': {
                'mode': 'optional',
                'type': 'TypeString',
                'computed': True,
                'conflicts_with': ['remote_address_group_id', 'remote_group_id'],
            },
            'security_group_id': {'mode': 'required', 'type': 'TypeString'},
            'tenant_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
        },
    },
    'openstack_networking_secgroup_v2': {
        'source': 'openstack/resource_openstack_networking_secgroup_v2.go',
        'attributes': {
            'all_tags': {'mode': 'computed', 'type': 'TypeSet', 'elem': 'TypeString'},
            'delete_default_rules': {'mode': 'optional', 'type': 'TypeBool'},
            'description': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'name': {'mode': 'required', 'type': 'TypeString'},
            'region': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'stateful': {'mode': 'optional', 'type': 'TypeBool', 'computed': True},
            'tags': {'mode': 'optional', 'type': 'TypeSet', 'elem': 'TypeString'},
            'tenant_id': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
        },
    },
}

DATA_SOURCES = {
    'openstack_networking_network_v2': {
        'source': 'openstack/data_source_openstack_networking_network_v2.go',
        'attributes': {
            'admin_state_up': {'mode': 'computed', 'type': 'TypeString'},
            'all_tags': {'mode': 'computed', 'type': 'TypeSet', 'elem': 'TypeString'},
            'availability_zone_hints': {
                'mode': 'computed',
                'type': 'TypeList',
                'elem': 'TypeString',
            },
            'description': {'mode': 'optional', 'type': 'TypeString'},
            'dns_domain': {'mode': 'computed', 'type': 'TypeString'},
            'external': {'mode': 'optional', 'type': 'TypeBool'},
            'matching_subnet_cidr': {'mode': 'optional', 'type': 'TypeString'},
            'mtu': {'mode': 'optional', 'type': 'TypeInt'},
            'name': {'mode': 'optional', 'type': 'TypeString'},
            'network_id': {'mode': 'optional', 'type': 'TypeString'},
            'region': {'mode': 'optional', 'type': 'TypeString', 'computed': True},
            'segments': {
                'mode': 'computed',
                'type': 'TypeSet',
                'block': {
                    'network_type': {'mode': 'computed', 'type': 'TypeString'},
                    'physical_network': {'mode': 'computed', 'type': 'TypeString'},
                    'segmentation_id': {'mode': 'computed', 'type': 'TypeInt'},
                },
            },
            'shared': {'mode': 'computed', 'type': 'TypeString'},
            'status': {'mode': 'optional', 'type': 'TypeString'},
            'subnets': {'mode': 'computed', 'type': 'TypeList', 'elem': 'TypeString'},
            'tags': {'mode': 'optional', 'type': 'TypeSet', 'elem': 'TypeString'},
            'tenant_id': {'mode': 'optional', 'type': 'TypeString'},
            'transparent_vlan': {'mode': 'optional', 'type': 'TypeBool'},
        },
    },
}
