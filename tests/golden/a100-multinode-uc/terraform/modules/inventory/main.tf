# Shapes the inventory document that Ansible reads (`terraform output -json inventory`).
# Kept free of any provider so that it can be planned and tested on its own.
#
# Shape (schema 1):
#   {
#     "schema": 1,
#     "site": "CHI@UC",
#     "reservation_id": "<uuid>",
#     "ssh_user": "cc",
#     "head": {"name": "<project>-1", "fixed_ip": "10.x.y.z", "floating_ip": "192.5.x.y"},
#     "nodes": [
#       {"name": "<project>-1", "id": "<uuid>", "role": "head", "fixed_ip": "10.x.y.z",
#        "floating_ip": "192.5.x.y", "jump_host": null},
#       {"name": "<project>-2", "id": "<uuid>", "role": "worker", "fixed_ip": "10.x.y.w",
#        "floating_ip": null, "jump_host": "192.5.x.y"}
#     ]
#   }
# Workers have no public address: connect with ProxyJump through jump_host, as ssh_user.

variable "site" {
  description = "Chameleon site of the nodes."
  type        = string
}

variable "reservation_id" {
  description = "Blazar reservation the nodes run in."
  type        = string
}

variable "ssh_user" {
  description = "Login user on every node."
  type        = string
}

variable "node_names" {
  description = "Instance names, head first."
  type        = list(string)

  validation {
    condition     = length(var.node_names) >= 1
    error_message = "There must be at least one node."
  }
}

variable "node_ids" {
  description = "Instance ids, in the order of node_names."
  type        = list(string)
}

variable "fixed_ips" {
  description = "Private addresses, in the order of node_names."
  type        = list(string)
}

variable "head_public_ip" {
  description = "Floating IP of the head node (the first node)."
  type        = string
}

locals {
  nodes = [
    for i, name in var.node_names : {
      name        = name
      id          = var.node_ids[i]
      role        = i == 0 ? "head" : "worker"
      fixed_ip    = var.fixed_ips[i]
      floating_ip = i == 0 ? var.head_public_ip : null
      jump_host   = i == 0 ? null : var.head_public_ip
    }
  ]
}

output "inventory" {
  description = "The inventory document (schema 1, described at the top of this file)."
  value = {
    schema         = 1
    site           = var.site
    reservation_id = var.reservation_id
    ssh_user       = var.ssh_user
    head = {
      name        = local.nodes[0].name
      fixed_ip    = local.nodes[0].fixed_ip
      floating_ip = local.nodes[0].floating_ip
    }
    nodes = local.nodes
  }
}
