"""Training runs: on the node from this commit (`make train`), or here with no cloud
(`make train-local`), and the MLflow UI of the local runs."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from typing import IO

from . import ansible, node, settings
from .settings import knob
from .steps import CommandFailed, OpsError, announce, command, run, step

# The node's runs report MLflow's address inside the compose network; here it is the tunnel's.
NODE_TRACKING_URL = "http://mlflow:5000"
LOCAL_VENV = ".venv-train"


def train_dir() -> str:
    """Where the training role ships this repository on every node."""
    return knob("TRAIN_DIR") or settings.project()["training"]["dir"]


def train_command(run_id: str, overrides: str) -> str:
    """What `make train` runs on the head node. `overrides` (ARGS) reaches the node's shell as
    written, so quoting in it works as in a shell."""
    training = settings.project()["training"]
    files = " ".join(f"--env-file {shlex.quote(f)}" for f in training["env_files"])
    entry = shlex.quote(f"training/{training['entry_point']}")
    return (f"cd {shlex.quote(train_dir())} && REPRO_RESUME_RUN_ID={shlex.quote(run_id)}"
            f" docker compose {files} -f {shlex.quote(training['compose_file'])} run --rm train"
            f" python {entry} {overrides}").rstrip()


def relay(lines: IO[bytes], out: IO[bytes]) -> None:
    """Copy the run's output as it comes, with MLflow's in-network address made reachable."""
    for line in iter(lines.readline, b""):
        out.write(line.replace(NODE_TRACKING_URL.encode(), settings.TRACKING_URL.encode()))
        out.flush()


def train(args: argparse.Namespace) -> int:
    with step("train", "make configure", "shipping code and building the training image"):
        ansible.playbook("--tags", "training")
    with step("train", "make logs; resume with make train RUN_ID=<run id>",
              "training (logs follow; open runs with make mlflow-ui)"):
        # A terminal for the run when there is one: Ctrl-C then stops the run on the node.
        tty = ("-t",) if sys.stdin.isatty() else ()
        argv = node.ssh_argv(train_command(knob("RUN_ID"), knob("ARGS")), options=tty)
        print(shlex.join(argv), flush=True)
        with subprocess.Popen(argv, stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            relay(proc.stdout, sys.stdout.buffer)
        if proc.returncode != 0:
            raise CommandFailed(argv, proc.returncode)
    print(f"Runs: make mlflow-ui, then the URL above ({settings.TRACKING_URL})")
    return 0


def local_python() -> str:
    python = settings.ROOT / LOCAL_VENV / "bin" / "python"
    if not python.exists():
        raise OpsError(f"{LOCAL_VENV} is missing", hint="make train-local (it installs it)")
    return str(python)


def local_ui_argv() -> list[str]:
    """The UI of the train-local runs, with absolute paths: the command works from any folder."""
    root = settings.ROOT
    return [str(root / LOCAL_VENV / "bin" / "mlflow"), "ui", "--backend-store-uri",
            f"sqlite:///{root / 'mlruns' / 'mlflow.db'}", "--host", "127.0.0.1", "--port", "5000"]


def train_local(args: argparse.Namespace) -> int:
    training = settings.project()["training"]
    announce("local run: embedded tracking store in mlruns/ and no GPU check")
    env = {**os.environ, "REPRO_EXPECT_GPU": "0", "PYTHONHASHSEED": str(training["seed"])}
    argv = [local_python(), f"training/{training['entry_point']}", *shlex.split(knob("ARGS"))]
    run(argv, cwd=settings.ROOT, env=env)
    print(f"Browse runs: make mlflow-ui-local, or from any folder: {shlex.join(local_ui_argv())}")
    return 0


def mlflow_ui_local(args: argparse.Namespace) -> int:
    print(f"MLflow (local runs): {settings.TRACKING_URL}", flush=True)
    return run(local_ui_argv(), cwd=settings.ROOT)


def add_parser(commands: argparse._SubParsersAction) -> None:
    command(commands, "train", train, "build the training image on the node from this commit and"
            " run it (ARGS: overrides, RUN_ID: resume)", "make logs")
    command(commands, "train-local", train_local, "run the training code here, tracking into"
            " mlruns/ (ARGS: overrides)", "read the error above")
    command(commands, "mlflow-ui-local", mlflow_ui_local, "serve the UI of the train-local runs",
            "is port 5000 free here?")
