# Values from the spec. Change the spec and re-render rather than editing here.
# Rendered by repro-gen from .repro-gen/spec.yaml. Your edits survive a re-render (three-way merge).
# The reservation (and on KVM the reserved flavor) arrive in lease.auto.tfvars.json.

cloud        = "kvm_tacc"
project_name = "tabular-baselines"
node_names   = ["tabular-baselines-1"]
image_name   = "CC-Ubuntu22.04"
key_pair     = "tabular-baselines"
ssh_cidrs    = ["203.0.113.0/24"]
