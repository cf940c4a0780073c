"""provenance.py on its own: credentials stripped, the metadata service asked briefly (a local
stand-in server plays it; the real 169.254.169.254 is never contacted from here), the GPU check's
message, and git dirtiness in all three forms."""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from .conftest import CLOSED_PORT_METADATA, git, rendered_checkout, spec_for

# provenance.py imports mlflow: not in the fast tier (tests/support/tiers.py).
pytestmark = pytest.mark.heavy


@pytest.fixture(scope="module")
def provenance(tmp_path_factory):
    repo = rendered_checkout(spec_for("sklearn"), tmp_path_factory.mktemp("prov") / "repo")
    spec = importlib.util.spec_from_file_location("provenance", repo / "training" / "provenance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("url", "expected"), [
    ("https://alice:tok3n@github.com/lab/repo.git", "https://github.com/lab/repo.git"),
    ("https://x-access-token:ghp_abc@github.com:8443/lab/repo", "https://github.com:8443/lab/repo"),
    ("https://github.com/lab/repo.git?token=abc#frag", "https://github.com/lab/repo.git"),
    ("git@github.com:lab/repo.git", "git@github.com:lab/repo.git"),
    ("ssh://git@host.example/lab/repo.git", "ssh://host.example/lab/repo.git"),
])
def test_remote_url_loses_credentials(provenance, url, expected):
    assert provenance.strip_credentials(url) == expected


class _MetadataStandIn(BaseHTTPRequestHandler):
    """Stand-in for Chameleon's OpenStack metadata service, on 127.0.0.1."""

    documents: ClassVar[dict] = {
        "/openstack/latest/meta_data.json": {"uuid": "inst-0001", "availability_zone": "nova",
                                             "name": "prov-study-1"},
        # Real vendor data also carries a project-scoped token (instance_metrics_writer_token).
        "/openstack/latest/vendor_data2.json": {"chameleon": {
            "lease_id": "lease-md", "reservation_id": "resv-md", "project_id": "proj-1",
            "instance_metrics_writer_username": "writer",
            "instance_metrics_writer_token": "gAAAA-secret-token-value",
            "nested": [{"admin_password": "hunter2"}]}},
    }

    def do_GET(self):
        body = self.documents.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        if body:
            self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def metadata_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MetadataStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/openstack/latest"
    server.shutdown()


def test_chameleon_facts_from_metadata_stand_in(provenance, metadata_server, monkeypatch):
    monkeypatch.setenv("REPRO_METADATA_URL", metadata_server)
    monkeypatch.setenv("CHAMELEON_INSTANCE", "1")
    monkeypatch.setenv("CHAMELEON_SITE", "CHI@UC")
    monkeypatch.delenv("CHAMELEON_LEASE_ID", raising=False)
    monkeypatch.delenv("CHAMELEON_RESERVATION_ID", raising=False)
    facts, artifacts = provenance.chameleon_facts()
    assert facts["chameleon.metadata"] == "present"
    assert facts["chameleon.instance_id"] == "inst-0001"
    assert facts["chameleon.lease_id"] == "lease-md"
    assert facts["chameleon.reservation_id"] == "resv-md"
    assert facts["chameleon.site"] == "CHI@UC"
    vendor = json.loads(artifacts["chameleon-vendor-data.json"])["chameleon"]
    assert vendor["lease_id"] == "lease-md" and vendor["project_id"] == "proj-1"
    # Secrets never reach MLflow: the keys stay, so a reader sees something was there.
    assert vendor["instance_metrics_writer_token"] == "[redacted]"
    assert vendor["nested"] == [{"admin_password": "[redacted]"}]
    assert not any("secret-token" in text or "hunter2" in text for text in artifacts.values())


def test_environment_wins_over_metadata(provenance, metadata_server, monkeypatch):
    monkeypatch.setenv("REPRO_METADATA_URL", metadata_server)
    monkeypatch.setenv("CHAMELEON_INSTANCE", "1")
    monkeypatch.setenv("CHAMELEON_LEASE_ID", "lease-env")
    facts, _ = provenance.chameleon_facts()
    assert facts["chameleon.lease_id"] == "lease-env"


@pytest.mark.parametrize("url", [CLOSED_PORT_METADATA, "http://127.0.0.1:1/openstack/latest"])
def test_no_metadata_service_is_recorded_as_absent_without_hanging(provenance, monkeypatch, url):
    monkeypatch.setenv("REPRO_METADATA_URL", url)
    monkeypatch.setenv("CHAMELEON_INSTANCE", "1")
    for name in ("CHAMELEON_SITE", "CHAMELEON_NODE_TYPE", "CHAMELEON_LEASE_ID",
                 "CHAMELEON_RESERVATION_ID"):
        monkeypatch.delenv(name, raising=False)
    started = time.monotonic()
    facts, artifacts = provenance.chameleon_facts()
    assert time.monotonic() - started < 1.5
    assert artifacts == {}
    for key in ("metadata", "instance_id", "lease_id", "reservation_id", "site", "node_type"):
        assert facts[f"chameleon.{key}"].startswith("absent ("), key


@pytest.mark.parametrize("mark", [None, "", "0", "yes"])
def test_off_a_chameleon_node_the_metadata_service_is_not_asked(provenance, metadata_server,
                                                               monkeypatch, mark):
    """Only the training role's CHAMELEON_INSTANCE=1 says "on a Chameleon node"."""
    monkeypatch.setenv("REPRO_METADATA_URL", metadata_server)
    if mark is None:
        monkeypatch.delenv("CHAMELEON_INSTANCE", raising=False)
    else:
        monkeypatch.setenv("CHAMELEON_INSTANCE", mark)
    asked = []
    monkeypatch.setattr(provenance, "_fetch_json", lambda url, timeout: asked.append(url))
    facts, artifacts = provenance.chameleon_facts()
    assert asked == [] and artifacts == {}
    assert facts["chameleon.metadata"] == "absent (not on a Chameleon node)"
    assert facts["chameleon.instance_id"] == "absent (not on a Chameleon node)"


def test_slow_metadata_service_times_out_within_a_second(provenance, monkeypatch):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    monkeypatch.setenv("REPRO_METADATA_URL", f"http://127.0.0.1:{listener.getsockname()[1]}/x")
    monkeypatch.setenv("REPRO_METADATA_TIMEOUT", "30")  # capped at 1 s by the module
    monkeypatch.setenv("CHAMELEON_INSTANCE", "1")
    started = time.monotonic()
    facts, _ = provenance.chameleon_facts()
    listener.close()
    assert time.monotonic() - started < 2.5
    assert facts["chameleon.metadata"].startswith("absent")


def test_gpu_check_names_driver_and_cuda_versions(provenance):
    facts = {"fw.name": "pytorch", "fw.version": "2.13.0", "fw.cuda": "12.8", "fw.gpus_visible": 0,
             "gpu.driver": "470.256.02", "gpu.count": 1}
    with pytest.raises(provenance.GPUNotVisible) as err:
        provenance.check_gpu(facts, True, "nvidia")
    message = str(err.value)
    assert "470.256.02" in message and "CUDA 12.8" in message and "REPRO_EXPECT_GPU=0" in message
    provenance.check_gpu(facts, False, "nvidia")  # not expected: no complaint
    provenance.check_gpu({**facts, "fw.gpus_visible": 1}, True, "nvidia")
    amd = {"fw.name": "pytorch", "fw.version": "2.13.0", "fw.rocm": "6.4", "fw.gpus_visible": 0,
           "gpu.driver": "6.8.5", "gpu.count": 2}
    with pytest.raises(provenance.GPUNotVisible, match=r"ROCm 6\.4") as err:
        provenance.check_gpu(amd, True, "amd")
    assert "CUDA" not in str(err.value) and "/dev/kfd" in str(err.value)
    # scikit-learn has no GPU of its own: the driver's count decides
    sk = {"fw.name": "sklearn", "fw.version": "1", "fw.gpus_visible": None, "gpu.count": 0,
          "gpu.driver": "absent (NVML: not found)"}
    with pytest.raises(provenance.GPUNotVisible):
        provenance.check_gpu(sk, True, "nvidia")


@pytest.mark.parametrize(("raw", "expected"), [
    (None, (True, "config")), ("0", (False, "env REPRO_EXPECT_GPU")),
    ("false", (False, "env REPRO_EXPECT_GPU")), ("1", (True, "env REPRO_EXPECT_GPU")),
])
def test_gpu_expectation_override(provenance, monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("REPRO_EXPECT_GPU", raising=False)
    else:
        monkeypatch.setenv("REPRO_EXPECT_GPU", raw)
    assert provenance.gpu_expected(True) == expected


def test_gpu_expectation_rejects_nonsense(provenance, monkeypatch):
    monkeypatch.setenv("REPRO_EXPECT_GPU", "maybe")
    with pytest.raises(ValueError, match="REPRO_EXPECT_GPU"):
        provenance.gpu_expected(True)


@pytest.mark.parametrize("change", ["unstaged", "staged", "untracked", "none"])
def test_dirty_flag_sees_every_kind_of_change(provenance, tmp_path, change):
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "0")
    (repo / "tracked.txt").write_text("a\n")
    git(repo, "add", "tracked.txt")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "1")
    if change == "unstaged":
        (repo / "tracked.txt").write_text("b\n")
    elif change == "staged":
        (repo / "new.txt").write_text("n\n")
        git(repo, "add", "new.txt")
    elif change == "untracked":
        (repo / "sub").mkdir()
        (repo / "sub" / "loose.txt").write_text("u\n")
    facts, artifacts = provenance.git_facts(repo)
    assert facts["git.dirty"] is (change != "none")
    assert facts["git.commit"] == git(repo, "rev-parse", "HEAD").strip()
    if change == "untracked":
        assert artifacts["untracked.txt"].splitlines() == ["sub/loose.txt"]
    if change in ("staged", "unstaged"):
        assert artifacts["git.diff"]


def test_outside_git_is_recorded_as_absent(provenance, tmp_path):
    facts, artifacts = provenance.git_facts(Path(tmp_path))
    assert facts["git.commit"].startswith("absent (") and artifacts == {}



def test_repository_without_commit_is_recorded_as_such(provenance, tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "sub").mkdir()
    facts, artifacts = provenance.git_facts(tmp_path / "sub")
    assert facts == {"git.commit": "absent (the repository has no commit yet)"} and artifacts == {}


def test_branch_remote_detached_head_and_root(provenance, tmp_path):
    repo = tmp_path / "r"
    (repo / "sub").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "0")
    git(repo, "remote", "add", "origin", "https://origin.example/lab/a.git")
    git(repo, "remote", "add", "upstream", "https://bob:pw@upstream.example/lab/b.git")
    git(repo, "config", "branch.main.remote", "upstream")
    facts, _ = provenance.git_facts(repo / "sub")
    assert facts["git.root"] == str(repo.resolve())
    assert facts["git.branch"] == "main"
    assert facts["git.remote"] == "https://upstream.example/lab/b.git"  # the branch's, no password
    git(repo, "checkout", "-q", "--detach")
    facts, _ = provenance.git_facts(repo)
    assert facts["git.branch"] == "absent (detached HEAD)"
    assert facts["git.remote"] == "https://origin.example/lab/a.git"  # origin, as for no branch
    assert facts["git.commit"] == git(repo, "rev-parse", "HEAD").strip()


# ----- installed packages --------------------------------------------------------------------------

def _listing_through_importlib_metadata() -> str:
    """What the package listing must equal: importlib.metadata's parsed Name and version."""
    from importlib import metadata

    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")  # the importlib_metadata backport raises on a missing key
        if name:
            seen.setdefault(name.lower(), f"{name}=={dist.version}")
    return "".join(line + "\n" for _, line in sorted(seen.items()))


def test_package_listing_equals_importlib_metadata_here(provenance):
    listing = provenance.installed_packages()
    assert listing == _listing_through_importlib_metadata()
    assert "mlflow==" in listing.lower() and len(listing.splitlines()) > 20


def _dist(folder: Path, name: str, files: dict[str, str]) -> None:
    (folder / name).mkdir(parents=True)
    for file, text in files.items():
        (folder / name / file).write_text(text, encoding="utf-8")


def test_package_listing_reads_headers_as_the_email_parser_does(provenance, tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    body = "\n" + "A long description.\nName: not-a-header-any-more\n" * 500
    _dist(first, "plain-1.0.dist-info", {"METADATA": "Metadata-Version: 2.1\nName: Plain\n"
                                         "Version: 1.0\nSummary: s\n" + body})
    # Header names in any case; only the first Name counts; the header block ends at a blank line.
    _dist(first, "odd_case-2.0.dist-info", {"METADATA": "metadata-version: 2.1\nNAME: odd_case\n"
                                            "version:   2.0\nName: other\n\nVersion: 9\n"})
    # Folded (continued) Name: left to the email parser, which keeps the fold.
    _dist(first, "folded-3.0.dist-info", {"METADATA": "Metadata-Version: 2.1\nName: folded\n"
                                          " -name\nVersion: 3.0\n"})
    # An empty METADATA falls through to PKG-INFO.
    _dist(first, "fallback-4.0.dist-info", {"METADATA": "", "PKG-INFO": "Name: fallback\n"
                                            "Version: 4.0\n"})
    _dist(first, "legacy.egg-info", {"PKG-INFO": "Metadata-Version: 1.0\nName: legacy\n"
                                     "Version: 0.1\n"})
    (first / "single.egg-info").write_text("Metadata-Version: 1.0\nName: single\nVersion: 5\n")
    # No Name at all: not listed. A line that is not a header ends the headers.
    _dist(first, "nameless-1.dist-info", {"METADATA": "Metadata-Version: 2.1\nVersion: 1\n"})
    _dist(first, "broken-1.dist-info", {"METADATA": "Version: 1\nnot a header\nName: broken\n"})
    # The same project later on the path: the first one found wins.
    _dist(second, "plain-0.5.dist-info", {"METADATA": "Name: plain\nVersion: 0.5\n"})
    monkeypatch.setattr("sys.path", [str(first), str(second)])
    listing = provenance.installed_packages()
    assert listing == _listing_through_importlib_metadata()
    assert listing.splitlines() == ["fallback==4.0", "folded", " -name==3.0", "legacy==0.1",
                                    "odd_case==2.0", "Plain==1.0", "single==5"]

# ----- GPU facts with stand-ins (no GPU on these machines) -----------------------------------------
# STAND-INS: a fake `pynvml` module, and fake `nvidia-smi` / `rocm-smi` scripts on PATH, in the
# shapes those tools produce. They prove the parsing and the "GPU expected, framework sees none"
# path; the real NVML / rocm-smi are exercised only on a GPU node.

class _FakeNVML:
    class NVMLError(Exception):
        pass

    class _Mem:
        total = 24 * 1024**3

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetName(self, handle):
        return b"Quadro RTX 6000"

    def nvmlDeviceGetMemoryInfo(self, handle):
        return self._Mem()

    def nvmlSystemGetDriverVersion(self):
        return "470.256.02"

    def nvmlSystemGetCudaDriverVersion(self):
        return 11040


def _fake_tool(folder: Path, name: str, output: str) -> None:
    script = folder / name
    script.write_text(f"#!/bin/sh\ncat <<'OUT'\n{output}\nOUT\n")
    script.chmod(0o755)


def test_nvidia_facts_and_mismatch_message_with_stand_ins(provenance, monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", _FakeNVML())
    _fake_tool(tmp_path, "nvidia-smi", "==============NVSMI LOG==============\nDriver Version : 470.256.02")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    facts, artifacts = provenance.nvidia_facts()
    assert facts == {"gpu.count": 2, "gpu.model": "Quadro RTX 6000", "gpu.memory_bytes": 48 * 1024**3,
                     "gpu.driver": "470.256.02", "gpu.cuda_driver": "11.4"}
    assert "NVSMI LOG" in artifacts["nvidia-smi-q.txt"]
    # An old driver beside a CPU-only (here) or newer-CUDA framework: the run must not start.
    fw = {"fw.name": "pytorch", "fw.version": "2.13.0", "fw.cuda": "12.8", "fw.gpus_visible": 0}
    with pytest.raises(provenance.GPUNotVisible, match=r"driver 470\.256\.02.*CUDA 12\.8"):
        provenance.check_gpu({**fw, **facts}, True, "nvidia")


def test_amd_facts_with_rocm_smi_stand_in(provenance, monkeypatch, tmp_path):
    report = {"card0": {"Card series": "AMD Instinct MI100", "VRAM Total Memory (B)": "34342961152"},
              "card1": {"Card series": "AMD Instinct MI100", "VRAM Total Memory (B)": "34342961152"},
              "system": {"Driver version": "6.8.5"}}
    _fake_tool(tmp_path, "rocm-smi", json.dumps(report))
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    facts, artifacts = provenance.amd_facts()
    assert facts == {"gpu.count": 2, "gpu.model": "AMD Instinct MI100",
                     "gpu.memory_bytes": 2 * 34342961152, "gpu.driver": "6.8.5"}
    assert json.loads(artifacts["rocm-smi.json"]) == report


def test_amd_facts_find_rocm_smi_off_path(provenance, monkeypatch, tmp_path):
    # On Chameleon's ROCm image rocm-smi is in /opt/rocm/bin, which is not always on PATH.
    rocm_bin = tmp_path / "rocm-bin"
    rocm_bin.mkdir()
    _fake_tool(rocm_bin, "rocm-smi", json.dumps({"card0": {"Card series": "AMD Instinct MI100"}}))
    monkeypatch.setattr(provenance, "ROCM_BIN_DIR", str(rocm_bin))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    facts, _ = provenance.amd_facts()
    assert facts["gpu.count"] == 1 and facts["gpu.model"] == "AMD Instinct MI100"
    monkeypatch.setattr(provenance, "ROCM_BIN_DIR", str(tmp_path / "absent"))
    facts, _ = provenance.amd_facts()
    assert facts["gpu.count"] == 0 and "rocm-smi not found" in facts["gpu.driver"]
