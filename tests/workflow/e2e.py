"""The local stand-in for a Chameleon node and the cloud around it, used by test_end_to_end.py and
benchmarks/make_up.py. What is real and what is stood in is listed in test_end_to_end.py."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.lease.fake_openstack import FakeOpenStack, State
from tests.support import docker as d
from tests.support.services import weed_binary

from . import standins

PROJECT = "e2e-study"
SPEC = {
    "version": 1,
    "project": {"name": PROJECT},
    "chameleon": {"site": "KVM@TACC", "flavor": "m1.xlarge", "ssh_cidrs": ["203.0.113.0/24"]},
    "training": {"framework": "sklearn", "seed": 0},
    "tracking": {"backups": True, "artifact_store": "minio"},
}
# The Chameleon object store's stand-in: credentials it accepts (test values, not secrets).
STORE_KEY, STORE_SECRET = "e2e-store-access", "e2e-store-secret"
STORE_PORT = 8333
# The docker role's daemon.json on this node: its defaults plus the vfs storage driver, because
# the node's own disk is an overlay filesystem and overlay-on-overlay is not available.
DAEMON_JSON = {"exec-opts": ["native.cgroupdriver=cgroupfs"], "log-driver": "json-file",
               "log-opts": {"max-size": "100m", "max-file": "5"}, "storage-driver": "vfs"}
TERRAFORM_STANDIN = """\
#!/bin/sh
# STAND-IN for terraform (the OpenStack provider cannot be installed here): answers the commands
# the Makefile sends, from the inventory fixture; every call is logged.
echo "$*" >> "$E2E_TERRAFORM_LOG"
[ "${1#-chdir=}" != "$1" ] && shift
case "$1" in
  init) echo "Terraform has been successfully initialized! (stand-in)" ;;
  apply) echo "Apply complete! Resources: 0 added, 0 changed, 0 destroyed. (stand-in)" ;;
  destroy) echo "Destroy complete! Resources: 3 destroyed. (stand-in)" ;;
  output) cat "$E2E_TF_OUTPUT" ;;
  *) echo "stand-in terraform: unexpected command $*" >&2; exit 2 ;;
esac
"""


@dataclass
class Bed:
    repo: Path
    node: str
    ssh_port: int
    store_port: int
    key: Path
    fake: FakeOpenStack
    env: dict[str, str]
    make_vars: list[str]
    terraform_log: Path
    timings: dict[str, float] = field(default_factory=dict)

    def make(self, *targets: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        start = time.monotonic()
        proc = subprocess.run(["make", *targets, *self.make_vars], cwd=self.repo, env=self.env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
        label = " ".join(targets)
        runs = sum(1 for k in self.timings if k == label or k.startswith(f"{label} #"))
        self.timings[f"{label} #{runs + 1}" if runs else label] = time.monotonic() - start
        return proc

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*d.ssh_argv(self.ssh_port, self.key), command], capture_output=True,
                              text=True, timeout=timeout, check=False)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout


def render(out: Path, render_data) -> Path:
    repo = render_data(SPEC, out)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=E2E", "-c", "user.email=e2e@example.org", "commit", "-qm", "render")
    return repo


def training_tag(repo: Path) -> str:
    """The tag the training role gives the image: sha256 of its inputs' sha256s and the build args."""
    sums = "".join(hashlib.sha256((repo / p).read_bytes()).hexdigest()
                   for p in ("docker/train/Dockerfile", "training/requirements.txt"))
    return hashlib.sha256((sums + "{}").encode()).hexdigest()[:12]


def project_images(repo: Path) -> list[str]:
    """The stack's MLflow and backup images and the training image, built here from the rendered
    Dockerfiles on the stand-in bases; the node's engine gets them already built (see the test)."""
    compose = yaml.safe_load((repo / "compose/tracking.yml").read_text())["services"]
    mlflow, backup = compose["mlflow"]["image"], compose["backup"]["image"]
    train = f"{PROJECT}-train:{training_tag(repo)}"
    standins.build_project_image(mlflow, repo / "docker/mlflow/Dockerfile", repo / "docker/mlflow")
    standins.build_project_image(backup, repo / "docker/backup/Dockerfile", repo / "docker/backup")
    standins.build_project_image(train, repo / "docker/train/Dockerfile", repo / "training")
    return [mlflow, backup, train]


def prepare_node(node: str, images: list[str]) -> None:
    """What the Chameleon image and Docker's registries would provide, put on the test node."""
    def sh(script: str, timeout: float = 600) -> None:
        proc = d.docker("exec", node, "sh", "-c", script, check=False, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"node preparation failed: {script}\n"
                               f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    # Docker from Debian (the docker role installs the same package; Docker's apt repository is
    # unreachable), installed first so the stand-in images can be loaded before `make up`.
    sh("mkdir -p /etc/docker && cat > /etc/docker/daemon.json <<'J'\n" + json.dumps(DAEMON_JSON, indent=2)
       + "\nJ\nDEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
       "apt-get install -y -qq docker.io >/dev/null && systemctl start docker && "
       "for i in $(seq 60); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1", timeout=900)
    # Compose v2 (Docker's docker-compose-plugin package is not in Debian): this machine's plugin.
    plugin = Path.home() / ".docker/cli-plugins/docker-compose"
    sh("mkdir -p /usr/libexec/docker/cli-plugins")
    d.docker("cp", "-L", str(plugin), f"{node}:/usr/libexec/docker/cli-plugins/docker-compose")
    standins.save_into(node, images)
    # The Chameleon object store's stand-in: SeaweedFS's S3 gateway on the node's port 8333.
    weed = weed_binary()
    d.docker("cp", "-L", str(weed), f"{node}:/usr/local/bin/weed")
    config = {"identities": [{"name": "e2e",
                              "credentials": [{"accessKey": STORE_KEY, "secretKey": STORE_SECRET}],
                              "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
    sh(f"mkdir -p /srv/objectstore && echo '{json.dumps(config)}' > /srv/objectstore/s3.json && "
       "systemd-run --unit e2e-objectstore /usr/local/bin/weed server -ip=127.0.0.1 -ip.bind=0.0.0.0 "
       f"-dir=/srv/objectstore -filer -s3 -s3.port={STORE_PORT} -s3.port.iceberg=0 -s3.port.lance=0 "
       "-s3.config=/srv/objectstore/s3.json -master.volumeSizeLimitMB=64 -volume.max=32 "
       "-master.port=9433 -volume.port=9480 -filer.port=9888")


def node_ip(node: str) -> str:
    return d.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                    node).stdout.split()[0]


@contextmanager
def local_bed(tmp: Path, render_data) -> object:
    """Render, build the stand-ins, start the node, write the fixtures; yields a Bed."""
    repo = render(tmp / "repo", render_data)
    weed = weed_binary()
    images = standins.build_standins(repo, weed) + project_images(repo)
    with ExitStack() as stack:
        node = d.run_systemd_container(
            name=f"e2e-node-{secrets.token_hex(3)}", ports=[22, STORE_PORT],
            extra_args=["--security-opt", "apparmor=unconfined"], timeout=120)
        # The node's nested engine keeps several GB of vfs layers: removing it takes longer
        # than remove_container's one minute.
        stack.callback(d.docker, "rm", "-f", "-v", node, check=False, timeout=600)
        prepare_node(node, images)
        key, public = d.make_ssh_keypair(tmp)
        d.authorize_ssh_key(node, public)
        ssh_port, store_port = d.host_port(node, 22), d.host_port(node, STORE_PORT)
        d.wait_ssh(ssh_port, key)

        state = State(region="KVM@TACC", flavors=[{"id": "m1xl", "name": "m1.xlarge", "extra_specs": {}}])
        fake = stack.enter_context(FakeOpenStack(state))
        # In the repository root (git-ignored), where the lease command's openstacksdk loader looks.
        clouds = repo / "clouds.yaml"
        config = json.loads((repo / "ops/project.json").read_text())["lease"]
        clouds.write_text(fake.clouds_yaml(config["cloud"]))

        tf_output = tmp / "terraform-output.json"
        tf_output.write_text(json.dumps({
            "schema": 1, "site": "KVM@TACC", "reservation_id": "stand-in", "ssh_user": "cc",
            "head": {"name": f"{PROJECT}-1", "fixed_ip": "10.52.0.11", "floating_ip": "127.0.0.1"},
            "nodes": [{"name": f"{PROJECT}-1", "id": "stand-in-instance", "role": "head",
                       "fixed_ip": "10.52.0.11", "floating_ip": "127.0.0.1", "jump_host": None}]}))
        terraform = tmp / "terraform"
        terraform.write_text(TERRAFORM_STANDIN)
        terraform.chmod(0o755)
        known_hosts = tmp / "known_hosts"
        # The node's SSH port is a published port, so it goes in a second inventory source for
        # that host only: as an extra variable (-e) it would also apply to the implicit localhost,
        # and ansible.posix.synchronize would then take the node for the controller itself.
        port_inventory = tmp / "node-port.yml"
        port_inventory.write_text(yaml.safe_dump(
            {"all": {"hosts": {f"{PROJECT}-1": {"ansible_port": ssh_port}}}}))
        overrides = tmp / "overrides.json"
        overrides.write_text(json.dumps({
            "ansible_ssh_private_key_file": str(key),
            "ansible_ssh_extra_args": f"-o UserKnownHostsFile={known_hosts} -o IdentitiesOnly=yes",
            "docker_install_from": "distribution",
            "docker_daemon_extra_options": {"storage-driver": "vfs"},
        }))
        # Secrets the user fills in: the object store's stand-in keys and address (as the node's
        # containers reach it); `make secrets` adds the generated ones.
        env_file = repo / ".env"
        env_file.write_text(f"CHAMELEON_S3_ACCESS_KEY={STORE_KEY}\nCHAMELEON_S3_SECRET_KEY={STORE_SECRET}\n"
                            f"BACKUP_S3_ENDPOINT_URL=http://{node_ip(node)}:{STORE_PORT}\nMLFLOW_WORKERS=1\n")
        env_file.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(E2E_TERRAFORM_LOG=str(tmp / "terraform.log"),
                   E2E_TF_OUTPUT=str(tf_output), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                   # This machine reaches the object store's stand-in through the published port.
                   BACKUP_S3_ENDPOINT_URL=f"http://127.0.0.1:{store_port}")
        make_vars = [f"TERRAFORM={terraform}", f"TF_OUTPUT_JSON={tf_output}",
                     f"ANSIBLE_ARGS=-i inventory/hosts.yml -i {port_inventory} -e @{overrides}",
                     f"SSH_OPTS=-p {ssh_port} -i {key} -o UserKnownHostsFile={known_hosts}"
                     " -o IdentitiesOnly=yes"]
        yield Bed(repo, node, ssh_port, store_port, key, fake, env, make_vars, tmp / "terraform.log")
