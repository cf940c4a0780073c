# What the rest of the repository needs from the nodes.
# Rendered by repro-gen from .repro-gen/spec.yaml. Your edits survive a re-render (three-way merge).
# `terraform output -json inventory` is the machine-readable inventory that the Ansible side
# turns into ansible/inventory/hosts.yml (its shape is documented in modules/inventory).

output "node_names" {
  description = "Instance names, head first."
  value       = openstack_compute_instance_v2.node[*].name
}

output "fixed_ips" {
  description = "Addresses on ${var.network_name}, in node order."
  value       = [for port in openstack_networking_port_v2.node : port.all_fixed_ips[0]]
}

output "head_floating_ip" {
  description = "Public address of the head node (node 1); the others are reached through it."
  value       = openstack_networking_floatingip_v2.head.address
}

output "ssh_user" {
  description = "Login user on every node."
  value       = var.ssh_user
}

output "inventory" {
  description = "Nodes, addresses, SSH user and jump host as one JSON document for Ansible."
  value       = module.inventory.inventory
}

module "inventory" {
  source = "./modules/inventory"

  site           = "CHI@UC"
  reservation_id = var.reservation_id
  ssh_user       = var.ssh_user
  node_names     = openstack_compute_instance_v2.node[*].name
  node_ids       = openstack_compute_instance_v2.node[*].id
  fixed_ips      = [for port in openstack_networking_port_v2.node : port.all_fixed_ips[0]]
  head_public_ip = openstack_networking_floatingip_v2.head.address
}
