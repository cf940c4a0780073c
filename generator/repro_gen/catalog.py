"""Chameleon Cloud facts as data: sites, node types, flavors and images.

Source: Chameleon's documentation (collected in the team's CHAMELEON.md brief). Everything the spec
rules and the blueprints need to know about the testbed lives here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Accelerator = Literal["nvidia", "amd", "none"]


@dataclass(frozen=True)
class Site:
    name: str
    kind: Literal["baremetal", "kvm"]
    auth_url: str
    region: str
    # Bare-metal sites do not enforce security groups: every port of a node is public.
    security_groups_enforced: bool
    # Swift/S3 endpoint that outlives leases; KVM@TACC uses CHI@TACC's object store.
    object_store_url: str
    cloud_entry: str  # conventional clouds.yaml entry name

    @property
    def is_baremetal(self) -> bool:
        return self.kind == "baremetal"


SITES: dict[str, Site] = {
    "CHI@UC": Site(
        name="CHI@UC",
        kind="baremetal",
        auth_url="https://chi.uc.chameleoncloud.org:5000",
        region="CHI@UC",
        security_groups_enforced=False,
        object_store_url="https://chi.uc.chameleoncloud.org:7480",
        cloud_entry="chi_uc",
    ),
    "CHI@TACC": Site(
        name="CHI@TACC",
        kind="baremetal",
        auth_url="https://chi.tacc.chameleoncloud.org:5000",
        region="CHI@TACC",
        security_groups_enforced=False,
        object_store_url="https://chi.tacc.chameleoncloud.org:7480",
        cloud_entry="chi_tacc",
    ),
    "KVM@TACC": Site(
        name="KVM@TACC",
        kind="kvm",
        auth_url="https://kvm.tacc.chameleoncloud.org:5000",
        region="KVM@TACC",
        security_groups_enforced=True,
        object_store_url="https://chi.tacc.chameleoncloud.org:7480",
        cloud_entry="kvm_tacc",
    ),
}


@dataclass(frozen=True)
class Hardware:
    """A bare-metal node type or a KVM flavor, and the accelerators it can carry."""

    name: str
    accelerators: tuple[Accelerator, ...]  # the first one is the default
    sites: tuple[str, ...]
    required_image: str | None = None
    note: str = ""


_BM = ("CHI@UC", "CHI@TACC")

NODE_TYPES: dict[str, Hardware] = {
    h.name: h
    for h in (
        Hardware("gpu_rtx_6000", ("nvidia",), _BM),
        Hardware("gpu_a100_pcie", ("nvidia",), _BM),
        Hardware("gpu_a100_nvlink", ("nvidia",), _BM),
        Hardware("gpu_v100", ("nvidia",), _BM),
        Hardware("gpu_v100_nvlink", ("nvidia",), _BM),
        Hardware("gpu_p100", ("nvidia",), _BM),
        Hardware("gpu_p100_nvlink", ("nvidia",), _BM),
        Hardware("gpu_p100_v100", ("nvidia",), _BM),
        Hardware("gpu_k80", ("nvidia",), _BM),
        Hardware("gpu_m40", ("nvidia",), _BM),
        Hardware("gpu_mi100", ("amd",), ("CHI@TACC",), required_image="CC-Ubuntu24.04-ROCm",
                 note="2x AMD MI100"),
        Hardware("compute_cascadelake", ("none",), _BM),
        Hardware("compute_cascadelake_r", ("none",), _BM),
        Hardware("compute_icelake_r650", ("none",), _BM),
        Hardware("compute_icelake_r750", ("none",), _BM),
        Hardware("compute_skylake", ("none",), _BM),
        Hardware("compute_zen3", ("none",), _BM),
        # Composable nodes: GPUs are attached on request, so both are valid.
        Hardware("compute_liqid", ("nvidia", "none"), ("CHI@TACC",), note="composable GPU"),
        Hardware("compute_gigaio", ("nvidia", "none"), _BM, note="composable GPU"),
    )
}

FLAVORS: dict[str, Hardware] = {
    h.name: h
    for h in (
        *(Hardware(f"m1.{size}", ("none",), ("KVM@TACC",))
          for size in ("tiny", "small", "medium", "large", "xlarge", "xxlarge")),
        Hardware("g1.h100.pci.1", ("nvidia",), ("KVM@TACC",), note="1x H100 passthrough"),
        Hardware("g1.h100.pci.4", ("nvidia",), ("KVM@TACC",), note="4x H100 passthrough"),
        Hardware("g1.h100.vgpu.1g.12gb", ("nvidia",), ("KVM@TACC",),
                 required_image="CC-Ubuntu24.04-CUDA-VGPU", note="H100 vGPU slice"),
    )
}

_ALL = ("CHI@UC", "CHI@TACC", "KVM@TACC")


@dataclass(frozen=True)
class Image:
    name: str
    sites: tuple[str, ...]
    # Which accelerator stack ships preinstalled ("none" for plain images).
    ships: Accelerator


IMAGES: dict[str, Image] = {
    i.name: i
    for i in (
        Image("CC-Ubuntu22.04", _ALL, "none"),
        Image("CC-Ubuntu24.04", _ALL, "none"),
        Image("CC-Ubuntu22.04-CUDA", _ALL, "nvidia"),
        Image("CC-Ubuntu24.04-CUDA", _ALL, "nvidia"),
        Image("CC-Ubuntu24.04-CUDA-VGPU", ("KVM@TACC",), "nvidia"),
        Image("CC-Ubuntu24.04-ROCm", ("CHI@TACC",), "amd"),
    )
}

DEFAULT_IMAGE: dict[Accelerator, str] = {
    "nvidia": "CC-Ubuntu22.04-CUDA",
    "amd": "CC-Ubuntu24.04-ROCm",
    "none": "CC-Ubuntu22.04",
}

NETWORK = "sharednet1"
FLOATING_IP_POOL = "public"
SSH_USER = "cc"
# Bare-metal leases last at most 7 days; KVM GPU flavors are capped at 7 days too.
MAX_LEASE_HOURS = 7 * 24

FRAMEWORKS = ("pytorch", "lightning", "tensorflow", "sklearn", "huggingface")
ARTIFACT_STORES = ("minio", "chameleon")


def hardware_for(site: str, name: str) -> Hardware | None:
    table = NODE_TYPES if SITES[site].is_baremetal else FLAVORS
    return table.get(name)


def hardware_names(site: str) -> list[str]:
    table = NODE_TYPES if SITES[site].is_baremetal else FLAVORS
    return [h.name for h in table.values() if site in h.sites]


def hardware_carrying(site: str, accelerator: str) -> list[str]:
    """The node types or flavors of `site` that can carry `accelerator`, in table order."""
    return [name for name in hardware_names(site)
            if accelerator in hardware_for(site, name).accelerators]


def images_at(site: str) -> list[str]:
    return [i.name for i in IMAGES.values() if site in i.sites]
