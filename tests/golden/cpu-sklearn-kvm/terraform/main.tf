# The leased nodes: one port on sharednet1 each, a floating IP for the head node.
# Rendered by repro-gen from .repro-gen/spec.yaml. Your edits survive a re-render (three-way merge).
#
# Topology: node 1 (the head) runs the tracking stack and is the only node with a public
# address; nodes 2..N are reached through it (SSH ProxyJump over sharednet1). This
# keeps a single public entry point and one floating IP per lease.
#
# KVM@TACC runs virtual machines and enforces security groups: security.tf opens SSH to
# var.ssh_cidrs only, plus traffic between the nodes of this project.

data "openstack_networking_network_v2" "this" {
  name = var.network_name
}

resource "openstack_networking_port_v2" "node" {
  count = length(var.node_names)

  name           = "${var.node_names[count.index]}-port"
  description    = "Port of ${var.node_names[count.index]} on ${var.network_name}."
  network_id     = data.openstack_networking_network_v2.this.id
  admin_state_up = true

  security_group_ids = [openstack_networking_secgroup_v2.this.id]
}

resource "openstack_compute_instance_v2" "node" {
  count = length(var.node_names)

  name       = var.node_names[count.index]
  image_name = var.image_name
  key_pair   = var.key_pair
  user_data  = file("${path.module}/cloud-init.yaml")

  # The private flavor Blazar created for this reservation (not the public flavor name).
  flavor_id = var.flavor_id

  metadata = {
    project = var.project_name
    role    = count.index == 0 ? "head" : "worker"
  }

  network {
    port = openstack_networking_port_v2.node[count.index].id
  }
}

resource "openstack_networking_floatingip_v2" "head" {
  pool        = var.floating_ip_pool
  port_id     = openstack_networking_port_v2.node[0].id
  description = "Public address of ${var.node_names[0]}, the head node of ${var.project_name}."
}
