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
  (with a short timeout) only where the training role marked the process as running on a
  Chameleon instance (CHAMELEON_INSTANCE=1); elsewhere, `make train-local` for one, nothing is
  sent and every such field is recorded as "absent (not on a Chameleon node)";
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
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import mlflow
from mlflow.entities import Param, RunTag
from mlflow.tracking import MlflowClient

# The OpenStack metadata service every Chameleon instance can reach. Overridable so that tests (and
# other clouds) can point it elsewhere; the timeout is capped so a missing service never stalls a run.
METADATA_URL = "http://169.254.169.254/openstack/latest"
METADATA_TIMEOUT_S = 1.0
# Set to 1 by the training role (compose/.env.train) on the nodes it configures.
ON_CHAMELEON = "CHAMELEON_INSTANCE"
GIT_TIMEOUT_S = 20
ABSENT = "absent"

Facts = dict[str, Any]


class GPUNotVisible(RuntimeError):
    """A GPU was expected but the framework cannot use one (driver / CUDA / ROCm mismatch)."""


def absent(why: str) -> str:
    return f"{ABSENT} ({why})"


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = GIT_TIMEOUT_S,
         env: dict[str, str] | None = None) -> str | None:
    """stdout of a command, or None when it is missing, fails or takes too long."""
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False, env=env)
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


def _git_env() -> dict[str, str]:
    # Read-only: never take the index lock to write back refreshed stat data (a user's `git commit`
    # meanwhile would fail on it, and the git commands below run at the same time).
    return {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}


def _git(repo: Path, *args: str) -> str | None:
    # The repository is often owned by another user inside the container: trust it explicitly
    # for these read-only commands instead of failing with "dubious ownership".
    return _run(["git", "-c", f"safe.directory={repo}", "-C", str(repo), *args], env=_git_env())


def _git_remote(repo: Path, branch: str) -> str:
    remote_name = (_git(repo, "config", "--get", f"branch.{branch}.remote") or "origin").strip()
    return (_git(repo, "remote", "get-url", remote_name) or "").strip()


def git_facts(start: Path) -> tuple[Facts, dict[str, str]]:
    """(facts, artifacts) of the git repository containing `start`."""
    if shutil.which("git") is None:
        return {"git.commit": absent("git is not installed")}, {}
    # Top level, commit and branch in one call; it fails without a commit (or outside a repository).
    head = _run(["git", "-c", "safe.directory=*", "-C", str(start), "rev-parse", "--show-toplevel",
                 "HEAD", "--abbrev-ref", "HEAD"], env=_git_env())
    lines = (head or "").splitlines()
    if len(lines) != 3 or not lines[1].strip():
        top = _run(["git", "-c", "safe.directory=*", "-C", str(start), "rev-parse", "--show-toplevel"],
                   env=_git_env())
        if top is None:
            return {"git.commit": absent(f"{start} is not inside a git repository")}, {}
        return {"git.commit": absent("the repository has no commit yet")}, {}
    repo, commit, branch = Path(lines[0].strip()), lines[1].strip(), lines[2].strip()
    # The rest are independent: run them side by side (each is mostly git's start-up time).
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="provenance-git") as pool:
        remote_job = pool.submit(_git_remote, repo, branch)
        # --porcelain lists staged, unstaged and untracked changes; `git diff --quiet` would miss two.
        status_job = pool.submit(_git, repo, "status", "--porcelain", "--untracked-files=all")
        untracked_job = pool.submit(_git, repo, "ls-files", "--others", "--exclude-standard")
        diff_job = pool.submit(_git, repo, "diff", "HEAD", "--binary")
        remote = remote_job.result()
        status = status_job.result() or ""
        untracked = untracked_job.result() or ""
        diff = diff_job.result() or ""
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

# A header line as the `email` parser that importlib.metadata uses sees one (email.feedparser).
_HEADER_LINE = re.compile(r"^(From |[\041-\071\073-\176]*:|[\t ])")


def _name_and_version(path: Path) -> tuple[str | None, str | None] | None:
    """Name and Version of the distribution whose metadata folder (or egg-info file) is `path`,
    from the header block alone; None when only the full parser would be sure (folded or odd
    headers, undecodable text). Reads METADATA, else PKG-INFO, as importlib.metadata does."""
    for candidate in (path / "METADATA", path / "PKG-INFO", path):
        try:
            with candidate.open(encoding="utf-8") as handle:
                fields: dict[str, str] = {}
                last = None
                empty = True
                for line in handle:
                    empty = False
                    if line == "\n" or not _HEADER_LINE.match(line):
                        break  # the blank line (or first non-header line) ends the headers
                    if line[0] in " \t":
                        if last in ("name", "version"):
                            return None  # folded value: leave it to the email parser
                        continue
                    if len(fields) == 2:
                        break  # both found, and neither is folded
                    if line.startswith("From "):
                        last = None
                        continue
                    key, _, value = line.partition(":")
                    if not key:
                        return None  # a header without a name: the parser's defect handling
                    last = key.lower()
                    if last in ("name", "version") and last not in fields:
                        fields[last] = value.lstrip(" \t").rstrip("\r\n")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            continue
        except (OSError, UnicodeDecodeError):
            return None
        if empty:
            continue  # an empty METADATA falls through to PKG-INFO, as in importlib.metadata
        return fields.get("name"), fields.get("version")
    return None, None


def installed_packages() -> str:
    """`name==version` for every installed distribution, sorted (what `pip freeze` shows).

    The same set and spelling as iterating importlib.metadata.distributions() and reading each
    one's `metadata["Name"]` and `version`, but reading only the header lines of each metadata
    file, once: parsing every full METADATA (long descriptions included) cost most of the
    provenance capture. Distributions found twice (the importlib_metadata backport adds a second
    finder over the same folders) are read once."""
    seen: dict[str, str] = {}
    read: set[str] = set()
    for dist in metadata.distributions():
        path = getattr(dist, "_path", None)
        fast = None
        if isinstance(path, Path):
            if str(path) in read:
                continue
            read.add(str(path))
            fast = _name_and_version(path)
        if fast is not None:
            name, version = fast
        else:  # another kind of finder, or headers only the email parser reads right
            meta = dist.metadata  # .get: the importlib_metadata backport raises on a missing key
            name, version = meta.get("Name"), meta.get("Version")
        if name:
            seen.setdefault(name.lower(), f"{name}=={version}")
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


class Framework(NamedTuple):
    """What the training script says of its framework (repro-gen's framework table): its name, the
    engine whose build facts apply (torch, tensorflow or sklearn) and the distribution whose
    version is the run's fw.version."""

    name: str
    engine: str
    package: str


def framework_facts(framework: Framework) -> Facts:
    """Framework version, the GPU stack it was built for and how many GPUs it can use."""
    facts: Facts = {"fw.name": framework.name}
    if framework.engine == "torch":
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
        facts["fw.version"] = (torch.__version__ if framework.package == "torch"
                               else metadata.version(framework.package))
    elif framework.engine == "tensorflow":
        import tensorflow as tf

        build = tf.sysconfig.get_build_info()
        facts["fw.version"] = tf.__version__
        facts["fw.cuda"] = build.get("cuda_version") or absent("CPU or ROCm build")
        facts["fw.cudnn"] = build.get("cudnn_version") or absent("cuDNN not in this build")
        facts["fw.rocm"] = build.get("rocm_version") or absent("not a ROCm build")
        facts["fw.nccl"] = absent("TensorFlow does not report NCCL")
        facts["fw.gpus_visible"] = len(tf.config.list_physical_devices("GPU"))
    elif framework.engine == "sklearn":
        facts["fw.version"] = metadata.version(framework.package)
        for key in ("fw.cuda", "fw.cudnn", "fw.nccl", "fw.rocm"):
            facts[key] = absent("scikit-learn runs on the CPU")
        facts["fw.gpus_visible"] = None  # decided from the driver's own count below
    else:
        raise ValueError(f"unknown framework engine {framework.engine!r}")
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


def nvidia_smi_q() -> str | None:
    """The full `nvidia-smi -q` report, or None without nvidia-smi (or when it fails)."""
    return _run(["nvidia-smi", "-q"], timeout=30) if shutil.which("nvidia-smi") else None


def nvidia_facts(smi: Callable[[], str | None] = nvidia_smi_q) -> tuple[Facts, dict[str, str]]:
    """NVML's view of the GPUs, plus `nvidia-smi -q` from `smi` (collect runs it beside the rest)."""
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
    report = smi()
    if report is not None:
        artifacts["nvidia-smi-q.txt"] = report
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
    if env.get(ON_CHAMELEON) != "1":
        # Off a Chameleon node the link-local address leads nowhere useful: ask nothing.
        facts["chameleon.metadata"] = absent("not on a Chameleon node")
    else:
        try:
            meta = redact(_fetch_json(f"{base}/meta_data.json", timeout))
            artifacts["chameleon-meta-data.json"] = json.dumps(meta, indent=2, sort_keys=True)
            facts["chameleon.metadata"] = "present"
        except (OSError, ValueError, urllib.error.URLError) as exc:
            facts["chameleon.metadata"] = absent(
                f"metadata service unreachable: {exc.__class__.__name__}")
    if meta:
        try:
            vendor = redact(_fetch_json(f"{base}/vendor_data2.json", timeout))
            artifacts["chameleon-vendor-data.json"] = json.dumps(vendor, indent=2, sort_keys=True)
        except (OSError, ValueError, urllib.error.URLError):
            vendor = {}
    # Vendor data is free-form; look for the ids wherever Chameleon nests them.
    flat = _flatten(vendor)
    facts["chameleon.instance_id"] = meta.get("uuid") or absent(
        "not on an OpenStack instance" if env.get(ON_CHAMELEON) == "1" else "not on a Chameleon node")
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

def collect(framework: Framework, accelerator: str, start: Path) -> tuple[Facts, dict[str, str]]:
    """Every fact and artifact, without touching MLflow (cheap enough to run before training).

    What waits on other processes or the network (git, `nvidia-smi -q`, the metadata service)
    runs in threads while this one lists packages and asks the framework."""
    facts: Facts = {}
    artifacts: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="provenance") as pool:
        git_job = pool.submit(git_facts, start)
        chameleon_job = pool.submit(chameleon_facts)
        smi_job = pool.submit(nvidia_smi_q) if accelerator != "amd" else None
        environment = environment_facts()
        packages = installed_packages()
        fw = framework_facts(framework)
        system = system_facts()
        if smi_job is None:
            gpu, gpu_files = amd_facts()
        else:  # NVML is asked on CPU nodes too: it reports "no driver", which is a fact worth having
            gpu, gpu_files = nvidia_facts(smi_job.result)
        git, git_files = git_job.result()
        cham, cham_files = chameleon_job.result()
    facts.update(git)
    artifacts.update(git_files)
    facts.update(environment)
    artifacts["requirements-installed.txt"] = packages
    facts.update(fw)
    facts.update(system)
    facts.update(gpu)
    artifacts.update(gpu_files)
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
           expect_gpu_source: str, resumed: bool = False,
           params: dict[str, Any] | None = None) -> None:
    """Write the facts to the active MLflow run: tags `repro.*`, MLflow's own source tags, artifacts
    under provenance/. A resumed run keeps its original tags and adds a snapshot per resume.

    A new run also gets the seed and `params` as parameters, in the same request as the tags."""
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
        # One batch for tags and parameters: each request is a transaction (a commit, with an
        # fsync, in the local SQLite store).
        all_params = {"seed": seed, **(params or {})}
        MlflowClient().log_batch(
            run.info.run_id, params=[Param(key, str(value)) for key, value in all_params.items()],
            tags=[RunTag(key, value) for key, value in tags.items()])
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
