# Security group for KVM@TACC, which enforces security groups.
# Rendered by repro-gen from .repro-gen/spec.yaml. Your edits survive a re-render (three-way merge).
# SSH from the spec's networks (chameleon.ssh_cidrs) and traffic between the nodes of this
# project; nothing else comes in. Services stay on 127.0.0.1 and are reached over SSH tunnels.

resource "openstack_networking_secgroup_v2" "this" {
  name        = "${var.project_name}-nodes"
  description = "SSH from the allowed networks and traffic between the nodes of ${var.project_name}."
}

resource "openstack_networking_secgroup_rule_v2" "ssh" {
  for_each = toset(var.ssh_cidrs)

  description       = "SSH from ${each.value}."
  direction         = "ingress"
  ethertype         = strcontains(each.value, ":") ? "IPv6" : "IPv4"
  protocol          = "tcp"
  port_range_min    = 22
  port_range_max    = 22
  remote_ip_prefix  = each.value
  security_group_id = openstack_networking_secgroup_v2.this.id
}

# Nodes reach each other on every port (ProxyJump to the workers, distributed training),
# but only from ports that carry this same group.
resource "openstack_networking_secgroup_rule_v2" "between_nodes" {
  description       = "Any traffic between the nodes of ${var.project_name}."
  direction         = "ingress"
  ethertype         = "IPv4"
  remote_group_id   = openstack_networking_secgroup_v2.this.id
  security_group_id = openstack_networking_secgroup_v2.this.id
}
