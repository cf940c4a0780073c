"""The catalog says what Chameleon really has: node types per site from Chameleon's hardware data,
and every refused type with its reason. Facts checked here are the ones the Chameleon-fidelity
review found wrong in the hand-written table (node types at sites that lack them, gpu_h100
missing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro_gen import catalog, hardware_data, pins
from repro_gen import spec as spec_mod
from repro_gen.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]
# A clone of github ChameleonCloud/reference-repository, when one is at hand (not in CI).
REFERENCE = Path(os.environ.get("REPRO_GEN_REFERENCE_REPO",
                                "/work/.mirror/ChameleonCloud+reference-repository/repo"))


@pytest.mark.parametrize(("node_type", "sites"), [
    ("gpu_a100_pcie", ("CHI@UC",)), ("gpu_a100_nvlink", ("CHI@UC",)), ("gpu_v100", ("CHI@UC",)),
    ("gpu_rtx_6000", ("CHI@UC",)), ("gpu_h100", ("CHI@TACC",)), ("gpu_mi100", ("CHI@TACC",)),
    ("gpu_p100", ("CHI@TACC",)), ("gpu_p100_nvlink", ("CHI@TACC",)), ("compute_liqid", ("CHI@TACC",)),
    ("compute_zen3", ("CHI@TACC",)), ("compute_icelake_r650", ("CHI@TACC",)),
    ("compute_icelake_r750", ("CHI@TACC",)), ("compute_cascadelake_r", ("CHI@UC", "CHI@TACC")),
    ("compute_skylake", ("CHI@UC", "CHI@TACC")), ("compute_gigaio", ("CHI@UC", "CHI@TACC")),
])
def test_node_types_are_at_the_sites_chameleon_lists(node_type, sites):
    assert catalog.NODE_TYPES[node_type].sites == sites
    for site in ("CHI@UC", "CHI@TACC"):
        assert (node_type in catalog.hardware_names(site)) == (site in sites)


@pytest.mark.parametrize(("node_type", "accelerator", "gpus"), [
    ("gpu_h100", "nvidia", 4), ("gpu_a100_pcie", "nvidia", 4), ("gpu_v100", "nvidia", 4),
    ("gpu_mi100", "amd", 2), ("gpu_p100", "nvidia", 2), ("gpu_rtx_6000", "nvidia", 1),
    ("compute_cascadelake_r", "none", 0),
])
def test_gpus_per_node_come_from_the_hardware_data(node_type, accelerator, gpus):
    hw = catalog.NODE_TYPES[node_type]
    assert hw.accelerators[0] == accelerator and hw.gpus_per_node == gpus


def test_gone_node_types_are_gone():
    # gpu_v100_nvlink is no longer in Chameleon's hardware data.
    assert "gpu_v100_nvlink" not in catalog.NODE_TYPES


def test_every_nvidia_model_has_a_compute_capability():
    """A refresh that brings a GPU the capability table cannot place fails here, not on a node."""
    for name, row in hardware_data.NODE_TYPES.items():
        if "NVIDIA" in row["gpu_vendors"]:
            assert catalog.NODE_TYPES[name].compute_capability, (name, row["gpu_models"])


def test_refused_types_say_why_and_are_never_offered():
    refused = {n: h.unsupported for n, h in catalog.NODE_TYPES.items() if h.unsupported}
    assert set(refused) == {"compute_arm64", "gpu_pontevecchio", "gpu_k80"}
    for site in catalog.SITES:
        assert not set(refused) & set(catalog.hardware_names(site))


def test_mixed_fleets_default_to_no_gpu():
    # Some compute_gigaio nodes have no GPU: a lease may get one, so the type defaults to none.
    hw = catalog.NODE_TYPES["compute_gigaio"]
    assert hw.accelerators == ("none", "nvidia") and "no GPU" in hw.note


@pytest.mark.parametrize("site", list(catalog.SITES))
@pytest.mark.parametrize("accelerator", [None, "nvidia", "amd", "none"])
def test_init_and_a_hand_written_spec_pick_the_same_default(site, accelerator):
    """One default-hardware table: what `init` proposes is what validate fills in."""
    from repro_gen.questions import _default_hardware

    default = catalog.default_hardware(site, accelerator)
    if default is None:
        return
    answers = {"chameleon.site": site, **({"accelerator": accelerator} if accelerator else {})}
    assert _default_hardware(answers) == default
    if catalog.SITES[site].is_baremetal:
        data = {"project": {"name": "ab-c"}, "chameleon": {"site": site}}
        if accelerator:
            data["accelerator"] = accelerator
        assert spec_mod.validate(data).chameleon.node_type == default


def test_every_offered_nvidia_type_runs_the_pinned_torch_build():
    """The image's CUDA build has kernels for every NVIDIA type the catalog offers."""
    low, high = pins.TORCH_BUILDS["nvidia"].compute_capabilities
    key = catalog.compute_capability_key
    for site in catalog.SITES:
        for name in catalog.hardware_carrying(site, "nvidia"):
            cc = catalog.hardware_for(site, name).compute_capability
            assert key(low) <= key(cc) and key(cc)[0] <= key(high)[0], (site, name, cc)


def test_a_torch_build_without_kernels_for_the_gpu_is_refused(monkeypatch):
    """Were the image moved to a CUDA 13 build (Turing 7.5 and newer), Volta and Pascal types
    would be refused at validate time, naming the build and the types that still fit."""
    cuda13 = pins.TorchBuild("cu130", "nvidia/cuda:13.0.2-cudnn-runtime-ubuntu22.04", "CUDA 13.0",
                             cuda="13.0", compute_capabilities=("7.5", "10.0"))
    monkeypatch.setitem(pins.TORCH_BUILDS, "nvidia", cuda13)
    with pytest.raises(SpecError) as err:
        spec_mod.validate({"project": {"name": "ab-c"}, "chameleon": {"node_type": "gpu_v100"}})
    text = str(err.value)
    assert "compute capability 7.0" in text and "cu130" in text and "gpu_a100_pcie" in text
    # scikit-learn installs no torch: the same node is fine for it.
    spec_mod.validate({"project": {"name": "ab-c"}, "chameleon": {"node_type": "gpu_v100"},
                       "training": {"framework": "sklearn"}})


def test_the_table_names_its_source_commit():
    assert hardware_data.SOURCE == "ChameleonCloud/reference-repository"
    assert len(hardware_data.COMMIT) == 40
    text = (ROOT / "generator/repro_gen/hardware_data.py").read_text(encoding="utf-8")
    assert hardware_data.COMMIT in text.split('"""')[1]


@pytest.mark.skipif(not REFERENCE.exists(), reason=f"no clone of ChameleonCloud/reference-repository"
                    f" at {REFERENCE} (set REPRO_GEN_REFERENCE_REPO)")
def test_the_table_is_what_the_script_makes_from_the_source():
    result = subprocess.run([sys.executable, "tools/refresh_hardware.py", str(REFERENCE),
                             "--rev", hardware_data.COMMIT, "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
