# Values from the spec. Change the spec and re-render rather than editing here.
# Rendered by repro-gen from .repro-gen/spec.yaml. Your edits survive a re-render (three-way merge).
# The reservation (and on KVM the reserved flavor) arrive in lease.auto.tfvars.json.

cloud        = "chi_tacc"
project_name = "rocm-lightning"
node_names   = ["rocm-lightning-1"]
image_name   = "CC-Ubuntu24.04-ROCm"
key_pair     = "rocm-lightning"
