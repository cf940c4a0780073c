"""`make up` -> `make train` -> `make backup` -> `make down` of a rendered repository, end to end.

REAL: the generated Makefile and the ops package it calls; `ops lease` with its pinned OpenStack
client libraries over HTTP; ansible/inventory/from_terraform.py; site.yml over SSH with the
generated ansible.cfg (common, docker, mlflow_stack, training roles); Docker and Compose v2 on the
node; the tracking stack (MLflow server built from docker/mlflow, PostgreSQL, an S3 artifact store);
the training image from docker/train and a CPU scikit-learn run logging full provenance to MLflow;
the backup systemd unit running `python3 -m ops backup run` (pg_dump + artifacts) into an S3 object store;
`make restore` (MLflow stopped, the snapshot restored, MLflow started); `make logs SERVICE=train`;
`make down`'s backup check (a stale backup refuses), confirmation and lease deletion.

STOOD IN, and why:
- The Chameleon node: a systemd container of local/debian-systemd:bookworm reached over SSH on
  127.0.0.1 (no Chameleon from here). Debian 12 instead of Ubuntu; Docker from Debian with the vfs
  storage driver (overlay on overlay is not available), passed to the docker role as variables.
- Keystone/Blazar/Nova: tests/lease/fake_openstack.py, a real HTTP server, via clouds.yaml.
- Terraform: a script answering init/apply/destroy/output from an inventory fixture, passed as
  TERRAFORM= (the OpenStack provider cannot be installed here; tests/terraform checks the HCL).
- Registries: postgres, minio and python base images are local builds re-tagged with the pinned
  names (tests/workflow/standins.py); the MLflow, backup and training images are built from the
  rendered Dockerfiles on this machine and loaded into the node's engine, where the roles find and
  reuse them (the in-node build itself is tested in tests/training/test_role.py).
- The Chameleon object store: SeaweedFS's S3 gateway on the node, reached by the backup job at the
  node's address and from here through a published port.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import render_data, require
from tests.support.docker import require_compose, require_image
from tests.support.services import free_port, require_weed, wait_http

from .e2e import PROJECT, STORE_KEY, STORE_SECRET, local_bed

pytestmark = [pytest.mark.slow, pytest.mark.docker]


def ok(proc: subprocess.CompletedProcess[str], what: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{out[-8000:]}"
    return out


def recap_changed(out: str) -> int:
    found = re.findall(r"^\S+\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", out, re.M)
    assert found, out[-4000:]
    return sum(int(n) for n in found)


@contextlib.contextmanager
def mlflow_tunnel(bed) -> Iterator[MlflowClient]:
    """An MLflow client through an SSH tunnel to the node's 127.0.0.1:5000, as `make mlflow-ui`."""
    port = free_port()
    tunnel = subprocess.Popen(["ssh", "-N", "-p", str(bed.ssh_port), "-i", str(bed.key),
                               "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                               "-o", "UserKnownHostsFile=/dev/null",
                               "-L", f"127.0.0.1:{port}:127.0.0.1:5000", "cc@127.0.0.1"])
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, proc=None, what="MLflow through the tunnel")
        yield MlflowClient(f"http://127.0.0.1:{port}")
    finally:
        tunnel.terminate()
        tunnel.wait(timeout=10)


def test_up_train_backup_down(tmp_path: Path):
    for tool in ("make", "ssh", "ssh-keygen", "rsync", "ansible-playbook", "git"):
        require(tool)
    require_compose()
    require_image("local/debian-systemd:bookworm")
    require_image("local/python:3.11-slim")
    require_weed()

    with local_bed(tmp_path, render_data) as bed:
        # make up: lease (created), terraform, inventory, site.yml, summary.
        out = ok(bed.make("up"), "first make up")
        (lease,) = bed.fake.state.leases.values()
        assert lease["status"] == "ACTIVE"
        assert "127.0.0.1" in out and "end " in out, out[-3000:]
        assert "recap" in out.lower()

        # Second make up: the lease is reused and nothing on the node changes.
        out = ok(bed.make("up"), "second make up")
        assert f"Reusing ACTIVE lease {PROJECT}" in out
        assert len(bed.fake.state.leases) == 1
        assert recap_changed(out) == 0, out[-6000:]

        # With the stack up, nothing but sshd listens beyond loopback on the node; the SeaweedFS
        # stand-in for the remote Chameleon object store is the one expected exception.
        sockets = [line.split() for line in bed.ssh("sudo ss -ltnpH").stdout.splitlines() if line.strip()]
        public = [" ".join(f) for f in sockets if not f[3].startswith(("127.", "[::1]"))]
        assert public and all('"sshd"' in line or '"weed"' in line for line in public), public
        assert any(f[3] == "127.0.0.1:5000" for f in sockets), "MLflow is not on 127.0.0.1:5000"

        # make train: the image is reused on the node, the run logs provenance to MLflow.
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=bed.repo, capture_output=True,
                              text=True, check=True).stdout.strip()
        out = ok(bed.make("train", "ARGS=--set train.steps=20"), "make train")
        assert "http://127.0.0.1:5000" in out
        with mlflow_tunnel(bed) as client:
            experiment = client.get_experiment_by_name(PROJECT)
            (run,) = client.search_runs([experiment.experiment_id])
            tags = run.data.tags
            assert run.info.status == "FINISHED"
            assert tags["repro.git.commit"] == head
            # The run records the content-addressed tag the role built, and that tag's image id.
            image = tags["repro.env.image"]
            assert image.startswith(f"{PROJECT}-train:") and not image.endswith(":latest"), image
            image_id = bed.ssh(f"docker image inspect -f '{{{{.Id}}}}' {image}").stdout.strip()
            assert image_id and tags["repro.env.image_digest"] == image_id
            assert tags["repro.chameleon.lease_id"] == lease["id"]
            assert tags["repro.chameleon.reservation_id"] == lease["reservations"][0]["id"]
            assert tags["repro.chameleon.site"] == "KVM@TACC"
            assert "final_test_accuracy" in run.data.metrics
        # No training is running now: `make logs SERVICE=train` says so, from the node.
        idle = bed.make("logs", "SERVICE=train")
        assert idle.returncode != 0 and "no training is running" in idle.stdout + idle.stderr

        # make backup: the systemd unit on the node writes a snapshot to the object store.
        out = ok(bed.make("backup"), "make backup")
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{bed.store_port}", region_name="us-east-1",
                          aws_access_key_id=STORE_KEY, aws_secret_access_key=STORE_SECRET)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=f"{PROJECT}-backups").get("Contents", [])]
        assert any(k.endswith("manifest.json") for k in keys), keys

        # make restore: MLflow stops, the snapshot comes back, MLflow starts; the run is intact.
        ok(bed.make("restore"), "make restore")
        with mlflow_tunnel(bed) as client:
            restored = client.get_run(run.info.run_id)
            assert restored.data.metrics == run.data.metrics
            assert restored.data.tags["repro.git.commit"] == head

        # make down with a backup older than allowed (0 h): refused before anything is destroyed.
        stale = bed.make("down", "CONFIRM=yes", "BACKUP_MAX_AGE_HOURS=0")
        assert stale.returncode != 0 and 'step "down" failed' in stale.stderr, stale.stderr[-3000:]
        assert "destroy" not in bed.terraform_log.read_text()
        # make down without CONFIRM (stdin closed): nothing is destroyed.
        refused = bed.make("down")
        assert refused.returncode != 0
        assert "destroy" not in bed.terraform_log.read_text()
        # make down CONFIRM=yes: backup, check, terraform destroy, lease deleted.
        start = time.monotonic()
        out = ok(bed.make("down", "CONFIRM=yes"), "make down")
        assert "destroy" in bed.terraform_log.read_text().splitlines()[-1]
        assert not bed.fake.state.leases or all(
            v["status"] not in ("ACTIVE",) for v in bed.fake.state.leases.values()), bed.fake.state.leases
        bed.timings["down (checked)"] = time.monotonic() - start
        print({k: round(v, 1) for k, v in bed.timings.items()})
