"""Train a scikit-learn classifier on synthetic data, tracked in MLflow with full provenance.

Replace `make_data` and `build_model` with your own; keep the loop's shape (steps, checkpoints,
metrics) and resume keeps working. Settings: training/config.yaml, overridden with --set KEY=VALUE.
"""

from __future__ import annotations

import pickle
import sys

import mlflow
import mlflow.sklearn
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

import provenance
import runtime


def make_data(cfg: dict, seed: int) -> tuple[np.ndarray, ...]:
    x, y = make_classification(n_samples=cfg["n_samples"], n_features=cfg["n_features"],
                               n_informative=cfg["n_informative"], n_classes=cfg["n_classes"],
                               random_state=seed)
    return tuple(train_test_split(x, y, test_size=cfg["test_fraction"], random_state=seed))


def build_model(cfg: dict, seed: int) -> SGDClassifier:
    return SGDClassifier(loss="log_loss", alpha=cfg["alpha"], learning_rate="constant",
                         eta0=cfg["lr"], random_state=seed)


def batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    # A pure function of (seed, epoch): a resumed run sees exactly the batches it would have seen.
    return np.random.default_rng([seed, epoch]).permutation(n)


def train(session: runtime.Session) -> None:
    cfg, seed = session.config, int(session.config["seed"])
    runtime.seed_everything(seed)
    x_train, x_test, y_train, y_test = make_data(cfg["data"], seed)
    classes = np.unique(y_train)
    model = build_model(cfg["train"], seed)
    batch_size, steps = cfg["train"]["batch_size"], cfg["train"]["steps"]
    per_epoch = max(1, len(x_train) // batch_size)
    step = 0
    checkpoint = runtime.download_checkpoint(session)
    if checkpoint is not None:
        with (checkpoint / "state.pkl").open("rb") as fh:
            state = pickle.load(fh)  # our own artifact, written below
        model, step = state["model"], state["step"]
        print(f"resuming run {session.run_id} at step {step}", file=sys.stderr)
    done_here = 0
    while step < steps:
        epoch, index = divmod(step, per_epoch)
        rows = batch_order(seed, epoch, len(x_train))[index * batch_size : (index + 1) * batch_size]
        model.partial_fit(x_train[rows], y_train[rows], classes=classes)
        step += 1
        done_here += 1
        loss = log_loss(y_train[rows], model.predict_proba(x_train[rows]), labels=classes)
        session.metrics.log({"train_loss": loss}, step)
        if step % cfg["train"]["eval_every"] == 0 or step == steps:
            session.metrics.log({"test_accuracy": accuracy_score(y_test, model.predict(x_test))}, step)
        if step % cfg["train"]["checkpoint_every"] == 0 and step < steps:
            save_checkpoint(session, model, step)
        if session.should_stop(done_here):
            return
    session.metrics.flush()
    mlflow.log_metric("final_test_accuracy", accuracy_score(y_test, model.predict(x_test)))
    mlflow.sklearn.log_model(model, name="model", input_example=x_test[:2])


def save_checkpoint(session: runtime.Session, model: SGDClassifier, step: int) -> None:
    folder = runtime.checkpoint_dir(session.run_id)
    with (folder / "state.pkl").open("wb") as fh:
        pickle.dump({"model": model, "step": step}, fh)
    runtime.upload_checkpoint(session, folder, step)


# The framework as repro-gen's framework table describes it, for the run's provenance.
FRAMEWORK = provenance.Framework('sklearn', 'sklearn', 'scikit-learn')


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

