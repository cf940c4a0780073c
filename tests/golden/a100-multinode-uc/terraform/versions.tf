# Terraform and provider versions, and where the provider finds its credentials.
# Rendered by repro-gen from .repro-gen/spec.yaml. Your edits survive a re-render (three-way merge).

terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    openstack = {
      source = "terraform-provider-openstack/openstack"
      # 3.4.x only: the resources here were checked against the provider's v3.4.0 schema, and a
      # newer minor release may add or deprecate arguments. Ports and floating IPs come from
      # Neutron (openstack_networking_*); the old openstack_compute_floatingip_associate_v2 seen
      # in older Chameleon examples is gone since 3.0.
      version = "~> 3.4.0"
    }
  }
}

# No credential lives in this repository. The provider reads the application credential of
# CHI@UC from clouds.yaml (entry var.cloud): the file OS_CLIENT_CONFIG_FILE names (the
# Makefile points it at the repository's clouds.yaml when there is one; `terraform -chdir=terraform`
# would otherwise look in terraform/), else ~/.config/openstack/clouds.yaml and
# /etc/openstack/clouds.yaml. Unset OS_* variables first (Chameleon's Jupyter sets them): they
# would override the file.
provider "openstack" {
  cloud = var.cloud
}
