"""Fine-tune a tiny transformer classifier on synthetic tokens, tracked in MLflow with provenance.

The model is built from a small config with random weights, so nothing is downloaded; swap in
`AutoModelForSequenceClassification.from_pretrained(...)` and your dataset for real work (the
Hugging Face cache lives on a volume, HF_TOKEN comes from .env). Settings: training/config.yaml.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mlflow
import mlflow.pytorch
import torch
from torch.utils.data import Dataset
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

import provenance
import runtime


class TokenDataset(Dataset):
    """Label = whether token 1 occurs more often than token 2: learnable, made in code."""

    def __init__(self, cfg: dict, seed: int, n: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(3, cfg["vocab_size"], (n, cfg["seq_len"]), generator=g)
        marks = torch.randint(0, 3, (n, cfg["seq_len"]), generator=g)
        self.ids = torch.where(marks > 0, marks, self.ids)
        self.labels = ((self.ids == 1).sum(1) > (self.ids == 2).sum(1)).long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]),
                "labels": self.labels[i]}


class Tracking(TrainerCallback):
    """Per-step metrics to MLflow, checkpoints to the run's artifacts, --stop-after-steps."""

    def __init__(self, session: runtime.Session) -> None:
        self.session = session
        self.done_here = 0

    def on_log(self, args, state, control, logs=None, **kwargs) -> None:
        # The names every framework's script uses: train_loss, test_loss, test_accuracy, ...
        numbers = {("train_loss" if k == "loss" else "test_" + k.removeprefix("eval_")
                    if k.startswith("eval_") else k): float(v)
                   for k, v in (logs or {}).items() if isinstance(v, int | float)}
        self.session.metrics.log(numbers, state.global_step)

    def on_step_end(self, args, state, control, **kwargs) -> None:
        self.done_here += 1
        if self.session.should_stop(self.done_here):
            control.should_training_stop = True

    def on_save(self, args, state, control, **kwargs) -> None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        runtime.upload_checkpoint(self.session, folder, state.global_step)


def accuracy(prediction) -> dict[str, float]:
    return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}


def train(session: runtime.Session) -> None:
    cfg, seed = session.config, int(session.config["seed"])
    runtime.seed_everything(seed)
    data = cfg["data"]
    n_test = int(data["n_samples"] * data["test_fraction"])
    train_set = TokenDataset(data, seed, data["n_samples"] - n_test)
    test_set = TokenDataset(data, seed + 1, n_test)
    config = BertConfig(vocab_size=data["vocab_size"], max_position_embeddings=data["seq_len"],
                        num_labels=data["n_classes"], **cfg["model"])
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    t = cfg["train"]
    args = TrainingArguments(
        output_dir=str(runtime.checkpoint_dir(session.run_id)), max_steps=t["steps"],
        per_device_train_batch_size=t["batch_size"], learning_rate=t["lr"], seed=seed,
        data_seed=seed, full_determinism=True, logging_steps=1, eval_strategy="steps",
        eval_steps=t["eval_every"], save_strategy="steps", save_steps=t["checkpoint_every"],
        save_total_limit=1, report_to="none", disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=test_set,
                      compute_metrics=accuracy, callbacks=[Tracking(session)])
    checkpoint = runtime.download_checkpoint(session)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint is not None else None)
    if session.stopped:
        return
    session.metrics.flush()
    mlflow.log_metric("final_test_accuracy", trainer.evaluate()["eval_accuracy"])
    # Pickled: a traced (pt2) export of a transformer needs more care than a demo warrants.
    mlflow.pytorch.log_model(model.cpu(), name="model", serialization_format="pickle")


# The framework as repro-gen's framework table describes it, for the run's provenance.
FRAMEWORK = provenance.Framework('huggingface', 'torch', 'transformers')


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

