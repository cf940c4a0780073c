# Inputs. Each validation mirrors the rule repro-gen applied to the spec, so a hand edit fails here,
# at plan time, and not halfway through an apply.
# Rendered by repro-gen from .repro-gen/spec.yaml. Your edits survive a re-render (three-way merge).
# Values: terraform.tfvars (from the spec) and lease.auto.tfvars.json (written by
# `python3 -m ops lease create`).

variable "cloud" {
  description = "Entry of clouds.yaml holding the application credential for CHI@TACC."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", var.cloud))
    error_message = "The cloud must be a clouds.yaml entry name: letters, digits, '_', '.', '-' (at most 64 characters)."
  }
}

variable "project_name" {
  description = "Project slug; tags every node (metadata project) and names the security group."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.project_name))
    error_message = "The project_name must be 3-32 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "node_names" {
  description = "Instance names, one per reserved node (their number must equal the amount the lease reserved); the first is the head node."
  type        = list(string)

  validation {
    condition     = length(var.node_names) >= 1 && length(var.node_names) <= 8
    error_message = "The node_names must list from 1 to 8 nodes."
  }

  validation {
    condition     = alltrue([for n in var.node_names : can(regex("^[a-z][a-z0-9-]{1,34}[a-z0-9]$", n))])
    error_message = "Each of node_names must be 3-36 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }

  validation {
    condition     = length(distinct(var.node_names)) == length(var.node_names)
    error_message = "The node_names must all differ."
  }
}

variable "image_name" {
  description = "Image to boot (a Chameleon-supported image available at CHI@TACC)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", var.image_name))
    error_message = "The image_name must be an image name such as CC-Ubuntu22.04-CUDA."
  }
}

variable "key_pair" {
  description = "Name of an OpenStack key pair already uploaded at CHI@TACC; SSH logins use this key only."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", var.key_pair))
    error_message = "The key_pair must be a key pair name: letters, digits, '_', '.', '-' (at most 64 characters)."
  }
}

variable "reservation_id" {
  description = "Blazar reservation id (not the lease id) that the nodes are scheduled into; written by the lease step."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.reservation_id))
    error_message = "The reservation_id must be a reservation UUID; run `python3 -m ops lease create` to get one."
  }
}

variable "network_name" {
  description = "Shared network every node gets a port on."
  type        = string
  default     = "sharednet1"

  validation {
    condition     = length(var.network_name) > 0
    error_message = "The network_name must not be empty."
  }
}

variable "floating_ip_pool" {
  description = "External network the head node's floating IP comes from."
  type        = string
  default     = "public"

  validation {
    condition     = length(var.floating_ip_pool) > 0
    error_message = "The floating_ip_pool must not be empty."
  }
}

variable "ssh_user" {
  description = "Login user of Chameleon images; reported in the outputs for Ansible."
  type        = string
  default     = "cc"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.ssh_user))
    error_message = "The ssh_user must be a Linux user name."
  }
}
