"""Train a small Lightning classifier on synthetic data, tracked in MLflow with full provenance.

Replace `make_data` and `Classifier` with your own; the callbacks below handle metrics,
checkpoints and resume. Settings: training/config.yaml, overridden with --set KEY=VALUE.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lightning as L
import mlflow
import mlflow.pytorch
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import provenance
import runtime


def make_data(cfg: dict, seed: int) -> tuple[TensorDataset, TensorDataset]:
    """Gaussian clusters, one per class: small, made in code, identical for a given seed."""
    g = torch.Generator().manual_seed(seed)
    n, d, k = cfg["n_samples"], cfg["n_features"], cfg["n_classes"]
    centers = torch.randn(k, d, generator=g) * 2.0
    y = torch.randint(0, k, (n,), generator=g)
    x = centers[y] + torch.randn(n, d, generator=g)
    n_test = int(n * cfg["test_fraction"])
    return TensorDataset(x[n_test:], y[n_test:]), TensorDataset(x[:n_test], y[:n_test])


class Classifier(L.LightningModule):
    def __init__(self, n_features: int, hidden: int, n_classes: int, lr: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))
        self.loss_fn = nn.CrossEntropyLoss()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss_fn(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        self.log("test_accuracy", (self(x).argmax(dim=1) == y).float().mean())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


class Tracking(L.Callback):
    """Per-step metrics to MLflow, checkpoints to the run's artifacts, --stop-after-steps.

    A resume from a checkpoint taken mid-epoch restarts that epoch's shuffled batches (Lightning
    does not save a DataLoader's position), so its later metrics can differ slightly from an
    uninterrupted run's; set train.checkpoint_every to a multiple of the steps per epoch where
    resumes must be exact.
    """

    def __init__(self, session: runtime.Session) -> None:
        self.session = session
        self.every = session.config["train"]["checkpoint_every"]
        self.done_here = 0

    def on_train_batch_end(self, trainer: L.Trainer, *_: object) -> None:
        step = trainer.global_step
        # Training metrics only: callback_metrics still holds the last validation's values.
        self.session.metrics.log({k: float(v) for k, v in trainer.callback_metrics.items()
                                  if k.startswith("train_")}, step)
        self.done_here += 1
        if step % self.every == 0 and step < trainer.max_steps:
            path = runtime.checkpoint_dir(self.session.run_id) / "last.ckpt"
            trainer.save_checkpoint(path)
            runtime.upload_checkpoint(self.session, path, step)
        if self.session.should_stop(self.done_here):
            trainer.should_stop = True

    def on_validation_end(self, trainer: L.Trainer, _: L.LightningModule) -> None:
        if "test_accuracy" in trainer.callback_metrics:
            value = float(trainer.callback_metrics["test_accuracy"])
            self.session.metrics.log({"test_accuracy": value}, trainer.global_step)


def train(session: runtime.Session) -> None:
    cfg, seed = session.config, int(session.config["seed"])
    runtime.seed_everything(seed)
    L.seed_everything(seed, workers=True)
    train_set, test_set = make_data(cfg["data"], seed)
    batch_size = cfg["train"]["batch_size"]
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    model = Classifier(cfg["data"]["n_features"], cfg["model"]["hidden"], cfg["data"]["n_classes"],
                       cfg["train"]["lr"])
    trainer = L.Trainer(max_steps=cfg["train"]["steps"], deterministic=True, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, val_check_interval=cfg["train"]["eval_every"],
                        check_val_every_n_epoch=None, callbacks=[Tracking(session)])
    checkpoint = runtime.download_checkpoint(session)
    ckpt_path: Path | None = checkpoint / "last.ckpt" if checkpoint is not None else None
    trainer.fit(model, loader, DataLoader(test_set, batch_size=len(test_set)), ckpt_path=ckpt_path)
    if session.stopped:
        return
    session.metrics.flush()
    trainer.validate(model, DataLoader(test_set, batch_size=len(test_set)), verbose=False)
    mlflow.log_metric("final_test_accuracy", float(trainer.callback_metrics["test_accuracy"]))
    mlflow.pytorch.log_model(model.net.cpu(), name="model",
                            input_example=test_set.tensors[0][:2].numpy())


# The framework as repro-gen's framework table describes it, for the run's provenance.
FRAMEWORK = provenance.Framework('lightning', 'torch', 'lightning')


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

