"""A local test node for a rendered `ansible/` tree, reached the way Ansible reaches a Chameleon node.

The node is a container of `local/debian-systemd:bookworm` (systemd as PID 1, sshd, user `cc` with
passwordless sudo), published on 127.0.0.1 only. Its inventory is written by the rendered
`ansible/inventory/from_terraform.py` from a stand-in for `terraform output -json inventory`, and
`site.yml` runs over SSH with the rendered `ansible.cfg`, as `make configure` would.

What differs from a real node, and why (each override is passed with -e and printed):
- Debian 12 instead of Ubuntu (only Debian can be built here);
- Docker from the distribution (Docker's and NVIDIA's apt repositories are unreachable);
- on GPU specs, stand-ins for lspci / nvidia-smi / nvidia-ctk / rocm-smi (no GPU here), installed
  by the rendered `ansible/molecule/prepare_standins.yml`, and no CUDA-container check;
- python3-apt is preinstalled before the check-mode run, as on the CC-Ubuntu images (Ansible's apt
  module can install it itself, but not in check mode; the minbase test image lacks it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

IMAGE = os.environ.get("REPRO_GEN_TEST_NODE_IMAGE", "local/debian-systemd:bookworm")
# Same privileges as the molecule scenarios (see ansible/_macros.j2): no --privileged, no SYS_TIME.
RUN_FLAGS = [
    "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    *(f"--cap-add={c}" for c in ("SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_NICE",
                                 "IPC_LOCK", "AUDIT_CONTROL", "SYS_RAWIO", "LINUX_IMMUTABLE")),
]

STANDINS = {
    "nvidia": [{"src": "lspci-nvidia", "program": "lspci"}, {"src": "nvidia-smi", "program": "nvidia-smi"},
               {"src": "nvidia-ctk", "program": "nvidia-ctk"}],
    # Where CC-Ubuntu24.04-ROCm has rocm-smi: /opt/rocm/bin, not on sudo's PATH.
    "amd": [{"src": "lspci-amd", "program": "lspci"},
            {"src": "rocm-smi", "program": "rocm-smi", "dir": "/opt/rocm/bin"}],
    "none": [],
}
OVERRIDES = {
    "docker_install_from": "distribution",
    "nvidia_container_toolkit_install": False,
    "nvidia_container_toolkit_verify": False,
}
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


@dataclass
class Run:
    seconds: float
    changed: int
    failed: int
    unreachable: int
    output: str
    # Check-mode runs only: whether the node was modified anyway (it must not be).
    changed_node: bool = False

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


def accelerator_of(tree: Path) -> str:
    roles = tree / "ansible" / "roles"
    if (roles / "nvidia_driver").is_dir():
        return "nvidia"
    if (roles / "amd_rocm").is_dir():
        return "amd"
    return "none"


def _sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


@contextmanager
def test_node(name: str) -> Iterator[tuple[int, Path]]:
    """Start the node; yield (SSH port on 127.0.0.1, private key). Always removed afterwards."""
    _sh(["docker", "rm", "-f", name])
    work = Path(tempfile.mkdtemp(prefix="ansible-node-"))
    key = work / "id_ed25519"
    _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    try:
        _sh(["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::22", *RUN_FLAGS, IMAGE], check=True)
        state = ""
        for _ in range(60):
            state = _sh(["docker", "exec", name, "systemctl", "is-system-running"]).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(1)
        else:
            raise RuntimeError(f"systemd in {name} did not come up (state {state!r})")
        pub = key.with_suffix(".pub").read_text()
        _sh(["docker", "exec", "-i", name, "sh", "-c",
             "cat > /home/cc/.ssh/authorized_keys && chown cc:cc /home/cc/.ssh/authorized_keys"
             " && chmod 600 /home/cc/.ssh/authorized_keys"], input=pub, check=True)
        port = int(_sh(["docker", "port", name, "22/tcp"], check=True).stdout.split(":")[-1])
        yield port, key
    finally:
        _sh(["docker", "rm", "-f", name])
        for f in work.iterdir():
            f.unlink()
        work.rmdir()


def terraform_output_standin(name: str) -> dict:
    """Stand-in for `terraform output -json inventory`: one head node whose floating IP is the
    test node's published address (the OpenStack API is not reachable here)."""
    return {"ssh_user": "cc",
            "nodes": [{"name": name, "fixed_ip": "10.52.0.11", "floating_ip": "127.0.0.1", "ssh_user": "cc"}]}


def playbook(ansible_dir: Path, args: list[str], env: dict[str, str]) -> Run:
    start = time.monotonic()
    proc = subprocess.run(["ansible-playbook", *args], cwd=ansible_dir, capture_output=True, text=True,
                          env=env)
    seconds = time.monotonic() - start
    out = proc.stdout + proc.stderr
    recaps = RECAP.findall(out)
    changed = sum(int(r[2]) for r in recaps)
    unreachable = sum(int(r[3]) for r in recaps)
    failed = sum(int(r[4]) for r in recaps) + (0 if proc.returncode == 0 else 1)
    return Run(seconds, changed, failed, unreachable, out)


def converge_twice(tree: Path, name: str | None = None) -> tuple[Run, Run, dict]:
    """Write the inventory from the stand-in Terraform output, then run site.yml twice.

    Before the two runs, the whole site.yml (every tag, the tracking and training plays
    included) runs once in check mode on the fresh node (info["check"]): it must not fail and
    must leave the node as it was. REPRO_GEN_TEST_NODE_NAME names the node's container.
    """
    name = name or os.environ.get("REPRO_GEN_TEST_NODE_NAME", "ansible-site-node")
    ansible_dir = tree / "ansible"
    accel = accelerator_of(tree)
    with test_node(name) as (port, key):
        tf_json = ansible_dir / "inventory" / "terraform-output.json"
        tf_json.write_text(json.dumps(terraform_output_standin(name)))
        hosts = ansible_dir / "inventory" / "hosts.yml"
        conv = _sh(["python3", "inventory/from_terraform.py", str(tf_json.relative_to(ansible_dir)),
                    "-o", str(hosts.relative_to(ansible_dir))], cwd=ansible_dir)
        if conv.returncode != 0:
            raise RuntimeError(f"inventory converter failed: {conv.stderr}")
        extra = {
            **OVERRIDES,
            "ansible_port": port,
            "ansible_ssh_private_key_file": str(key),
            "ansible_ssh_extra_args": f"-o UserKnownHostsFile={key.parent / 'known_hosts'}",
            "molecule_standins": STANDINS[accel],
        }
        extra_file = key.parent / "overrides.json"
        extra_file.write_text(json.dumps(extra))
        env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
        if STANDINS[accel]:
            prep = playbook(ansible_dir, ["molecule/prepare_standins.yml", "-e", f"@{extra_file}"], env)
            if not prep.ok:
                raise RuntimeError(f"installing the stand-ins failed:\n{prep.output[-3000:]}")
        _sh(["docker", "exec", name, "sh", "-c",
             "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-apt"],
            check=True)
        before = _sh(["docker", "exec", name, "dpkg-query", "-W"], check=True).stdout
        # Check mode over every play, as `ansible-playbook site.yml --check` before a first
        # deploy: Docker is only planned, so the tracking and training plays must skip what needs
        # it. The tracking role reads the secrets file on this side: one made by the tree's own
        # tool, outside the tree.
        secrets = key.parent / "secrets.env"
        _sh(["python3", "-m", "ops", "secrets", "ensure", "--env-file", str(secrets)], cwd=tree,
            check=True)
        check = playbook(ansible_dir, ["site.yml", "--check", "-e", f"@{extra_file}",
                                       "-e", json.dumps({"mlflow_stack_env_file": str(secrets)})], env)
        after = _sh(["docker", "exec", name, "dpkg-query", "-W"], check=True).stdout
        # /opt/rocm is the stand-ins' own (rocm-smi where CC-Ubuntu24.04-ROCm has it), not a
        # change made by the check.
        touched = _sh(["docker", "exec", name, "sh", "-c", "test -e /data || test -e /etc/docker/daemon.json"
                       " || ls -d /opt/*/ 2>/dev/null | grep -vx /opt/rocm/ | grep -q ."]).returncode == 0
        check.changed_node = before != after or touched
        # The node-configuration plays; the tracking and training roles (which need the stack's
        # secrets and images) converge twice in tests/workflow/test_end_to_end.py's `make up`s.
        site = ["site.yml", "--skip-tags", "tracking,training"]
        first = playbook(ansible_dir, [*site, "-e", f"@{extra_file}"], env)
        second = playbook(ansible_dir, [*site, "-e", f"@{extra_file}"], env) if first.ok else first
        tf_json.unlink()
    info = {"accelerator": accel, "standins": [s["program"] for s in STANDINS[accel]],
            "overrides": sorted(OVERRIDES), "check": check}
    return first, second, info
