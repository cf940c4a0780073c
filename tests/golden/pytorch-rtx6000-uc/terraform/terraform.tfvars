# Values from the spec. Change the spec and re-render rather than editing here.
# Rendered by repro-gen from .repro-gen/spec.yaml. Your edits survive a re-render (three-way merge).
# The reservation (and on KVM the reserved flavor) arrive in lease.auto.tfvars.json.

cloud        = "chi_uc"
project_name = "cifar-resnet"
node_names   = ["cifar-resnet-1"]
image_name   = "CC-Ubuntu22.04-CUDA"
key_pair     = "cifar-resnet"
