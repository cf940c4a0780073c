"""Train a small PyTorch classifier on synthetic data, tracked in MLflow with full provenance.

Replace `make_data` and `build_model` with your own; keep the loop's shape (steps, checkpoints,
metrics) and resume keeps working. Settings: training/config.yaml, overridden with --set KEY=VALUE.
"""

from __future__ import annotations

import os
import sys

import mlflow
import mlflow.pytorch
import torch
from torch import nn

import provenance
import runtime


def make_data(cfg: dict, seed: int) -> tuple[torch.Tensor, ...]:
    """Gaussian clusters, one per class: small, made in code, identical for a given seed."""
    g = torch.Generator().manual_seed(seed)
    n, d, k = cfg["n_samples"], cfg["n_features"], cfg["n_classes"]
    centers = torch.randn(k, d, generator=g) * 2.0
    y = torch.randint(0, k, (n,), generator=g)
    x = centers[y] + torch.randn(n, d, generator=g)
    n_test = int(n * cfg["test_fraction"])
    return x[n_test:], y[n_test:], x[:n_test], y[:n_test]


def build_model(cfg: dict, n_features: int, n_classes: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, cfg["hidden"]), nn.ReLU(),
                         nn.Linear(cfg["hidden"], n_classes))


def make_deterministic(seed: int) -> None:
    torch.manual_seed(seed)
    # Same seed, same numbers: deterministic kernels, no autotuning (cuBLAS needs the workspace set).
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False


def train(session: runtime.Session) -> None:
    cfg, seed = session.config, int(session.config["seed"])
    runtime.seed_everything(seed)
    make_deterministic(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x_train, y_train, x_test, y_test = (t.to(device) for t in make_data(cfg["data"], seed))
    model = build_model(cfg["model"], x_train.shape[1], cfg["data"]["n_classes"]).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg["train"]["lr"], momentum=0.9)
    sampler = torch.Generator().manual_seed(seed)  # batch order; its state is checkpointed
    step, steps, batch_size = 0, cfg["train"]["steps"], cfg["train"]["batch_size"]
    checkpoint = runtime.download_checkpoint(session)
    if checkpoint is not None:
        state = torch.load(checkpoint / "state.pt", map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        sampler.set_state(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        step = int(state["step"])
        print(f"resuming run {session.run_id} at step {step}", file=sys.stderr)
    loss_fn = nn.CrossEntropyLoss()
    done_here = 0
    while step < steps:
        model.train()
        rows = torch.randint(0, len(x_train), (batch_size,), generator=sampler).to(device)
        loss = loss_fn(model(x_train[rows]), y_train[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        done_here += 1
        session.metrics.log({"train_loss": loss.item()}, step)
        if step % cfg["train"]["eval_every"] == 0 or step == steps:
            session.metrics.log({"test_accuracy": evaluate(model, x_test, y_test)}, step)
        if step % cfg["train"]["checkpoint_every"] == 0 and step < steps:
            save_checkpoint(session, model, optimizer, sampler, step)
        if session.should_stop(done_here):
            return
    session.metrics.flush()
    mlflow.log_metric("final_test_accuracy", evaluate(model, x_test, y_test))
    mlflow.pytorch.log_model(model.cpu(), name="model", input_example=x_test[:2].cpu().numpy())


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return (model(x).argmax(dim=1) == y).float().mean().item()


def save_checkpoint(session: runtime.Session, model: nn.Module, optimizer: torch.optim.Optimizer,
                    sampler: torch.Generator, step: int) -> None:
    folder = runtime.checkpoint_dir(session.run_id)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "sampler": sampler.get_state(), "torch_rng": torch.get_rng_state(), "step": step},
               folder / "state.pt")
    runtime.upload_checkpoint(session, folder, step)


# The framework as repro-gen's framework table describes it, for the run's provenance.
FRAMEWORK = provenance.Framework('pytorch', 'torch', 'torch')


def main(argv: list[str] | None = None) -> int:
    try:
        with runtime.start(FRAMEWORK, argv, __doc__) as session:
            train(session)
    except provenance.GPUNotVisible as exc:
        # Fail before any training: a silent CPU fallback would waste the lease.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

