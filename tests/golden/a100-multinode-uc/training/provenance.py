"""Provenance of a training run: everything needed to explain, later, where a result came from.

Every training script calls `record(...)` once, right after its MLflow run starts. It records:

- git: commit (also as MLflow's own `mlflow.source.git.commit` tag), branch, remote URL without
  credentials, dirty flag from `git status --porcelain` (staged, unstaged and untracked), and the
  diff against HEAD plus the list of untracked files as artifacts;
- environment: Python, the exact installed package set (artifact), the container image and digest
  (passed in by compose), the framework and its CUDA / cuDNN / NCCL / ROCm versions;
- system: hostname, CPU model and cores, memory, GPU model / count / memory / driver (NVML for
  NVIDIA, rocm-smi for AMD) and the full `nvidia-smi -q` as an artifact;
- Chameleon: site, node type, lease and reservation ids, instance id. The metadata service is asked
  with a short timeout; off Chameleon every such field is recorded as "absent", never a hang;
- repro-gen: the generator version and spec hash from `.repro-gen/state.json`;
- the command line, the seed, the PYTHONHASHSEED the interpreter started with and whether a GPU
  was expected (and who said so).

It imports nothing beyond the standard library and mlflow; NVML (`pynvml`, from the nvidia-ml-py
package) is used when installed. Values that cannot be found are recorded as "absent (why)".
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow

# The OpenStack metadata service every Chameleon instance can reach. Overridable so that tests (and
# other clouds) can point it elsewhere; the timeout is capped so a missing service never stalls a run.
METADATA_URL = "http://169.254.169.254/openstack/latest"
METADATA_TIMEOUT_S = 1.0
GIT_TIMEOUT_S = 20
ABSENT = "absent"

Facts = dict[str, Any]


class GPUNotVisible(RuntimeError):
    """A GPU was expected but the framework cannot use one (driver / CUDA / ROCm mismatch)."""


def absent(why: str) -> str:
    return f"{ABSENT} ({why})"


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = GIT_TIMEOUT_S) -> str | None:
    """stdout of a command, or None when it is missing, fails or takes too long."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# ----- git ---------------------------------------------------------------------------------------

def strip_credentials(url: str) -> str:
    """A remote URL without user:password@ or tokens (scp-style `git@host:path` is left alone)."""
    if "://" not in url:
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _git(repo: Path, *args: str) -> str | None:
    # The repository is often owned by another user inside the container: trust it explicitly
    # for these read-only commands instead of failing with "dubious ownership".
    return _run(["git", "-c", f"safe.directory={repo}", "-C", str(repo), *args])


def git_facts(start: Path) -> tuple[Facts, dict[str, str]]:
    """(facts, artifacts) of the git repository containing `start`."""
    if shutil.which("git") is None:
        return {"git.commit": absent("git is not installed")}, {}
    top = _run(["git", "-c", "safe.directory=*", "-C", str(start), "rev-parse", "--show-toplevel"])
    if top is None:
        return {"git.commit": absent(f"{start} is not inside a git repository")}, {}
    repo = Path(top.strip())
    commit = (_git(repo, "rev-parse", "HEAD") or "").strip()
    if not commit:
        return {"git.commit": absent("the repository has no commit yet")}, {}
    branch = (_git(repo, "rev-parse", "--abbrev-ref", "HEAD") or "").strip()
    remote_name = (_git(repo, "config", "--get", f"branch.{branch}.remote") or "origin").strip()
    remote = (_git(repo, "remote", "get-url", remote_name) or "").strip()
    # --porcelain lists staged, unstaged and untracked changes; `git diff --quiet` would miss two.
    status = _git(repo, "status", "--porcelain", "--untracked-files=all") or ""
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard") or ""
    diff = _git(repo, "diff", "HEAD", "--binary") or ""
    facts = {
        "git.commit": commit,
        "git.branch": branch if branch and branch != "HEAD" else absent("detached HEAD"),
        "git.remote": strip_credentials(remote) if remote else absent("no remote configured"),
        "git.dirty": bool(status.strip()),
        "git.untracked_files": len(untracked.splitlines()),
        "git.root": str(repo),
    }
    artifacts = {"git-status.txt": status, "git.diff": diff, "untracked.txt": untracked}
    return facts, artifacts


# ----- environment -------------------------------------------------------------------------------

def installed_packages() -> str:
    """`name==version` for every installed distribution, sorted (what `pip freeze` shows)."""
    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            seen.setdefault(name.lower(), f"{name}=={dist.version}")
    return "".join(line + "\n" for _, line in sorted(seen.items()))


def environment_facts() -> Facts:
    return {
        "env.python": platform.python_version(),
        "env.python_implementation": platform.python_implementation(),
        "env.platform": platform.platform(),
        "env.image": os.environ.get("REPRO_IMAGE") or absent("not running in the training image"),
        "env.image_digest": (os.environ.get("REPRO_IMAGE_DIGEST")
                             or absent("REPRO_IMAGE_DIGEST not passed in")),
    }


def framework_facts(framework: str) -> Facts:
    """Framework version, the GPU stack it was built for and how many GPUs it can use."""
    facts: Facts = {"fw.name": framework}
    if framework in ("pytorch", "lightning", "huggingface"):
        import torch

        facts["fw.torch"] = torch.__version__
        facts["fw.cuda"] = torch.version.cuda or absent("CPU or ROCm build")
        facts["fw.rocm"] = getattr(torch.version, "hip", None) or absent("not a ROCm build")
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        facts["fw.cudnn"] = str(cudnn) if cudnn else absent("cuDNN not available")
        try:
            nccl = ".".join(map(str, torch.cuda.nccl.version()))
        except Exception:  # CPU builds have no NCCL at all
            nccl = absent("NCCL not available")
        facts["fw.nccl"] = nccl
        facts["fw.gpus_visible"] = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if framework == "lightning":
            facts["fw.version"] = metadata.version("lightning")
        elif framework == "huggingface":
            facts["fw.version"] = metadata.version("transformers")
        else:
            facts["fw.version"] = torch.__version__
    elif framework == "tensorflow":
        import tensorflow as tf

        build = tf.sysconfig.get_build_info()
        facts["fw.version"] = tf.__version__
        facts["fw.cuda"] = build.get("cuda_version") or absent("CPU or ROCm build")
        facts["fw.cudnn"] = build.get("cudnn_version") or absent("cuDNN not in this build")
        facts["fw.rocm"] = build.get("rocm_version") or absent("not a ROCm build")
        facts["fw.nccl"] = absent("TensorFlow does not report NCCL")
        facts["fw.gpus_visible"] = len(tf.config.list_physical_devices("GPU"))
    elif framework == "sklearn":
        facts["fw.version"] = metadata.version("scikit-learn")
        for key in ("fw.cuda", "fw.cudnn", "fw.nccl", "fw.rocm"):
            facts[key] = absent("scikit-learn runs on the CPU")
        facts["fw.gpus_visible"] = None  # decided from the driver's own count below
    else:
        raise ValueError(f"unknown framework {framework!r}")
    return facts


# ----- system and GPUs ---------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or absent("CPU model not reported")


def _memory_bytes() -> int | str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return absent("/proc/meminfo not readable")


def system_facts() -> Facts:
    return {
        "sys.hostname": socket.gethostname(),
        "sys.cpu_model": _cpu_model(),
        "sys.cpu_cores": os.cpu_count() or 0,
        "sys.memory_bytes": _memory_bytes(),
    }


def nvidia_facts() -> tuple[Facts, dict[str, str]]:
    facts: Facts = {}
    try:
        import pynvml
    except ImportError:
        pynvml = None
    if pynvml is not None:
        try:
            pynvml.nvmlInit()
            try:
                count = pynvml.nvmlDeviceGetCount()
                handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
                names = sorted({_text(pynvml.nvmlDeviceGetName(h)) for h in handles})
                facts["gpu.count"] = count
                facts["gpu.model"] = ", ".join(names) if names else absent("no GPU")
                facts["gpu.memory_bytes"] = sum(pynvml.nvmlDeviceGetMemoryInfo(h).total for h in handles)
                facts["gpu.driver"] = _text(pynvml.nvmlSystemGetDriverVersion())
                facts["gpu.cuda_driver"] = _cuda_version(pynvml.nvmlSystemGetCudaDriverVersion())
            finally:
                pynvml.nvmlShutdown()
        except pynvml.NVMLError as exc:
            facts["gpu.count"] = 0
            facts["gpu.driver"] = absent(f"NVML: {exc}")
    else:
        facts["gpu.driver"] = absent("nvidia-ml-py is not installed")
    artifacts = {}
    smi = _run(["nvidia-smi", "-q"], timeout=30) if shutil.which("nvidia-smi") else None
    if smi is not None:
        artifacts["nvidia-smi-q.txt"] = smi
    else:
        facts["gpu.nvidia_smi"] = absent("nvidia-smi not found or failed")
    facts.setdefault("gpu.count", 0)
    return facts, artifacts


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _cuda_version(encoded: int) -> str:
    return f"{encoded // 1000}.{encoded % 1000 // 10}"


# ROCm installs its tools here and does not always put them on PATH (Chameleon's ROCm image does
# not: CC-Images elements/cc-ubuntu24.04-rocm).
ROCM_BIN_DIR = "/opt/rocm/bin"


def amd_facts() -> tuple[Facts, dict[str, str]]:
    smi = shutil.which("rocm-smi") or shutil.which("rocm-smi", path=ROCM_BIN_DIR)
    if smi is None:
        return {"gpu.count": 0, "gpu.driver": absent(f"rocm-smi not found on PATH or in {ROCM_BIN_DIR}")}, {}
    raw = _run([smi, "--showproductname", "--showmeminfo", "vram", "--showdriverversion",
                "--json"], timeout=30)
    if raw is None:
        return {"gpu.count": 0, "gpu.driver": absent("rocm-smi failed")}, {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {"gpu.count": 0, "gpu.driver": absent("rocm-smi printed no JSON")}, {"rocm-smi.txt": raw}
    cards = {k: v for k, v in data.items() if k.startswith("card")}
    models = sorted({str(v.get("Card series") or v.get("Card model") or "?") for v in cards.values()})
    memory = sum(int(v.get("VRAM Total Memory (B)", 0)) for v in cards.values())
    driver = str(data.get("system", {}).get("Driver version") or absent("not reported by rocm-smi"))
    facts = {"gpu.count": len(cards), "gpu.model": ", ".join(models) or absent("no GPU"),
             "gpu.memory_bytes": memory, "gpu.driver": driver}
    return facts, {"rocm-smi.json": json.dumps(data, indent=2, sort_keys=True)}


# ----- Chameleon ---------------------------------------------------------------------------------

def _fetch_json(url: str, timeout: float) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed scheme)
        return json.loads(response.read().decode())


# Keys whose values must never reach MLflow (and the backups that outlive the lease): the vendor
# data of a Chameleon instance carries a project-scoped token, for one.
SECRET_KEY_WORDS = ("token", "passw", "secret", "credential", "private", "apikey", "api_key")


def redact(data: Any) -> Any:
    """`data` with the value of every key that names a secret replaced by "[redacted]"."""
    if isinstance(data, dict):
        return {key: "[redacted]" if any(word in str(key).lower() for word in SECRET_KEY_WORDS)
                else redact(value) for key, value in data.items()}
    if isinstance(data, list):
        return [redact(item) for item in data]
    return data


def chameleon_facts() -> tuple[Facts, dict[str, str]]:
    """Site and node type from the environment (rendered from the spec); lease, reservation and
    instance from the environment or, on Chameleon, from the metadata service."""
    env = os.environ
    base = env.get("REPRO_METADATA_URL", METADATA_URL).rstrip("/")
    timeout = min(float(env.get("REPRO_METADATA_TIMEOUT", METADATA_TIMEOUT_S)), METADATA_TIMEOUT_S)
    facts: Facts = {
        "chameleon.site": env.get("CHAMELEON_SITE") or absent("CHAMELEON_SITE not set"),
        "chameleon.node_type": env.get("CHAMELEON_NODE_TYPE") or absent("CHAMELEON_NODE_TYPE not set"),
    }
    artifacts: dict[str, str] = {}
    meta: dict[str, Any] = {}
    vendor: dict[str, Any] = {}
    try:
        meta = redact(_fetch_json(f"{base}/meta_data.json", timeout))
        artifacts["chameleon-meta-data.json"] = json.dumps(meta, indent=2, sort_keys=True)
        facts["chameleon.metadata"] = "present"
    except (OSError, ValueError, urllib.error.URLError) as exc:
        facts["chameleon.metadata"] = absent(f"metadata service unreachable: {exc.__class__.__name__}")
    if meta:
        try:
            vendor = redact(_fetch_json(f"{base}/vendor_data2.json", timeout))
            artifacts["chameleon-vendor-data.json"] = json.dumps(vendor, indent=2, sort_keys=True)
        except (OSError, ValueError, urllib.error.URLError):
            vendor = {}
    # Vendor data is free-form; look for the ids wherever Chameleon nests them.
    flat = _flatten(vendor)
    facts["chameleon.instance_id"] = meta.get("uuid") or absent("not on an OpenStack instance")
    facts["chameleon.lease_id"] = (env.get("CHAMELEON_LEASE_ID") or _find(flat, "lease_id")
                                   or absent("not known: set CHAMELEON_LEASE_ID"))
    facts["chameleon.reservation_id"] = (env.get("CHAMELEON_RESERVATION_ID")
                                         or _find(flat, "reservation_id")
                                         or meta.get("meta", {}).get("reservation_id")
                                         or absent("not known: set CHAMELEON_RESERVATION_ID"))
    if meta.get("availability_zone"):
        facts["chameleon.availability_zone"] = meta["availability_zone"]
    return facts, artifacts


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _find(flat: dict[str, Any], leaf: str) -> str | None:
    for key, value in sorted(flat.items()):
        if key.rsplit(".", 1)[-1] == leaf and value:
            return str(value)
    return None


# ----- repro-gen ---------------------------------------------------------------------------------

def repro_gen_facts(project_root: Path | None) -> Facts:
    state = project_root / ".repro-gen" / "state.json" if project_root else None
    if state is None or not state.is_file():
        return {"repro_gen.version": absent(".repro-gen/state.json not found"),
                "repro_gen.spec_sha256": absent(".repro-gen/state.json not found")}
    data = json.loads(state.read_text(encoding="utf-8"))
    return {"repro_gen.version": data.get("generator_version") or absent("not in state.json"),
            "repro_gen.spec_sha256": data.get("spec_sha256") or absent("not in state.json")}


def find_project_root(start: Path) -> Path | None:
    """The generated repository's root: REPRO_PROJECT_ROOT, else the nearest parent with .repro-gen/."""
    override = os.environ.get("REPRO_PROJECT_ROOT")
    if override:
        return Path(override)
    for folder in (start, *start.parents):
        if (folder / ".repro-gen").is_dir():
            return folder
    return None


# ----- GPU expectation ---------------------------------------------------------------------------

def gpu_expected(configured: bool) -> tuple[bool, str]:
    """Whether a GPU is required, and who said so. REPRO_EXPECT_GPU=0 allows CPU debugging runs."""
    raw = os.environ.get("REPRO_EXPECT_GPU")
    if raw is None or raw == "":
        return configured, "config"
    if raw.lower() in ("0", "false", "no", "off"):
        return False, "env REPRO_EXPECT_GPU"
    if raw.lower() in ("1", "true", "yes", "on"):
        return True, "env REPRO_EXPECT_GPU"
    raise ValueError(f"REPRO_EXPECT_GPU={raw!r}: use 1 or 0")


def check_gpu(facts: Facts, expected: bool, accelerator: str) -> None:
    """Fail before training when a GPU is expected but the framework sees none."""
    if not expected:
        return
    visible = facts.get("fw.gpus_visible")
    if visible is None:  # frameworks without GPU support: the driver's own count decides
        visible = facts.get("gpu.count") or 0
    if visible:
        return
    stack = facts.get("fw.rocm") if accelerator == "amd" else facts.get("fw.cuda")
    stack_name = "ROCm" if accelerator == "amd" else "CUDA"
    if accelerator == "amd":
        # The ROCm wheel carries its own user space: what it needs from the node is the amdgpu
        # kernel driver and access to its device files.
        fix = ("Check that the container gets /dev/kfd and /dev/dri with the node's render group"
               " (compose/train.yml, REPRO_RENDER_GID) and that the node's amdgpu driver supports"
               f" ROCm {stack} (or rebuild the image for the node's ROCm)")
    else:
        fix = (f"Install a driver that supports this {stack_name} version (or rebuild the image for"
               " the driver)")
    raise GPUNotVisible(
        f"a {accelerator} GPU is expected but {facts.get('fw.name')} {facts.get('fw.version')} sees"
        f" none: GPU driver {facts.get('gpu.driver', absent('unknown'))},"
        f" framework built for {stack_name} {stack}, GPUs found by the driver:"
        f" {facts.get('gpu.count', 0)}. {fix}, or set REPRO_EXPECT_GPU=0 to debug on the CPU.")


# ----- recording ---------------------------------------------------------------------------------

def collect(framework: str, accelerator: str, start: Path) -> tuple[Facts, dict[str, str]]:
    """Every fact and artifact, without touching MLflow (cheap enough to run before training)."""
    facts: Facts = {}
    artifacts: dict[str, str] = {}
    git, git_files = git_facts(start)
    facts.update(git)
    artifacts.update(git_files)
    facts.update(environment_facts())
    artifacts["requirements-installed.txt"] = installed_packages()
    facts.update(framework_facts(framework))
    facts.update(system_facts())
    if accelerator == "amd":
        gpu, gpu_files = amd_facts()
    else:  # NVML is asked on CPU nodes too: it reports "no driver", which is a fact worth having
        gpu, gpu_files = nvidia_facts()
    facts.update(gpu)
    artifacts.update(gpu_files)
    cham, cham_files = chameleon_facts()
    facts.update(cham)
    artifacts.update(cham_files)
    facts.update(repro_gen_facts(find_project_root(start)))
    facts["run.command"] = shlex.join([sys.executable, *sys.argv])
    return facts, artifacts


def _tag_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Read once at import: the interpreter fixed its hash seed from the environment it started with,
# and a later change to os.environ does not change it.
_PYTHON_HASH_SEED = os.environ.get("PYTHONHASHSEED", "random") or "random"


def python_hash_seed() -> str:
    """The PYTHONHASHSEED this interpreter started with ("random" when unset)."""
    return _PYTHON_HASH_SEED


def record(facts: Facts, artifacts: dict[str, str], *, seed: int, expect_gpu: bool,
           expect_gpu_source: str, resumed: bool = False) -> None:
    """Write the facts to the active MLflow run: tags `repro.*`, MLflow's own source tags, artifacts
    under provenance/. A resumed run keeps its original tags and adds a snapshot per resume."""
    facts = {**facts, "run.seed": seed, "run.python_hash_seed": python_hash_seed(),
             "run.expect_gpu": expect_gpu,
             "run.expect_gpu_source": expect_gpu_source}
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("start an MLflow run before recording provenance")
    folder = "provenance"
    if resumed:
        previous = int(run.data.tags.get("repro.resume.count", "0"))
        folder = f"provenance/resume-{previous + 1}"
        original = run.data.tags.get("mlflow.source.git.commit")
        mlflow.set_tags({
            "repro.resume.count": str(previous + 1),
            "repro.resume.git_commit_changed": _tag_value(
                original is not None and original != facts.get("git.commit")),
        })
    else:
        tags = {f"repro.{key}": _tag_value(value)[:5000] for key, value in sorted(facts.items())}
        if not str(facts.get("git.commit", ABSENT)).startswith(ABSENT):
            tags["mlflow.source.git.commit"] = facts["git.commit"]
            if not str(facts.get("git.branch")).startswith(ABSENT):
                tags["mlflow.source.git.branch"] = facts["git.branch"]
            if not str(facts.get("git.remote")).startswith(ABSENT):
                tags["mlflow.source.git.repoURL"] = facts["git.remote"]
        mlflow.set_tags(tags)
        mlflow.log_params({"seed": seed})
    with tempfile.TemporaryDirectory(prefix="provenance-") as tmp:
        out = Path(tmp)
        (out / "facts.json").write_text(json.dumps(facts, indent=2, sort_keys=True, default=str) + "\n")
        for name, text in artifacts.items():
            # An empty file is information too, but uploading one through an MLflow server stalls
            # the connection's next request for a minute; facts.json already says "clean".
            if text:
                (out / name).write_text(text)
        mlflow.log_artifacts(tmp, folder)


def enable_system_metrics() -> None:
    """CPU, memory, disk, network and (with pynvml) GPU utilisation, sampled in the background."""
    mlflow.enable_system_metrics_logging()
