"""Ablations of the fine-tuning recipe on a CLINC150 subset, through the job's own trainer.

Each variant is a set of `full` (or `lora`) hyperparameters over a common base; every variant
trains on the same intents' train rows, picks its epoch on their validation rows, and is
scored on their test rows (in-scope only; `oos` is left out of the subset). Prints one table:
validation and test accuracy, expected calibration error, the epoch kept, wall time and
training samples/s.

    python -m benchmarks.recipes --intents 40 --only base mean mean+head20
"""

import argparse
import random
import sys
import time
from typing import Any

import torch

from app.core.config import get_settings
from app.ml.data import LabeledExample
from app.ml.device import plan_device
from app.ml.evaluation import evaluation_report
from app.ml.sequence_classifier import SequenceClassifier
from app.ml.strategies import Strategy, lora_config, spec_of
from app.ml.trainer import FullFineTuner
from benchmarks.common import OUT_OF_SCOPE, read_split

BASE: dict[str, Any] = {"max_length": 64, "batch_size": 32}
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {"epochs": 3, "learning_rate": 5e-5, "pooling": "cls"},
    "cls lr1e-4 5ep": {"epochs": 5, "learning_rate": 1e-4, "pooling": "cls"},
    "mean": {"epochs": 3, "learning_rate": 5e-5, "pooling": "mean"},
    "cls+head20": {"epochs": 3, "pooling": "cls", "head_learning_rate_factor": 20},
    "mean+head20": {"epochs": 3, "pooling": "mean", "head_learning_rate_factor": 20},
    "mean+head20 5ep": {"epochs": 5, "pooling": "mean", "head_learning_rate_factor": 20},
    "mean+head20 lr1e-4": {
        "epochs": 3,
        "learning_rate": 1e-4,
        "pooling": "mean",
        "head_learning_rate_factor": 20,
    },
    "mean+probe": {"epochs": 3, "pooling": "mean", "linear_probe": True},
    "mean+probe+head20": {
        "epochs": 3,
        "pooling": "mean",
        "linear_probe": True,
        "head_learning_rate_factor": 20,
    },
    "mean+head20+llrd0.8": {
        "epochs": 3,
        "pooling": "mean",
        "head_learning_rate_factor": 20,
        "layer_decay": 0.8,
        "learning_rate": 1e-4,
    },
    "mean+head20+smooth0.1": {
        "epochs": 3,
        "pooling": "mean",
        "head_learning_rate_factor": 20,
        "label_smoothing": 0.1,
    },
    "mean+head20 ungrouped": {
        "epochs": 3,
        "pooling": "mean",
        "head_learning_rate_factor": 20,
        "group_by_length": False,
    },
    "lora base": {"strategy": "lora", "epochs": 3, "pooling": "cls"},
    "lora mean+head20": {
        "strategy": "lora",
        "epochs": 3,
        "pooling": "mean",
        "head_learning_rate_factor": 20,
    },
    "lora mean+head5 lr1e-3": {
        "strategy": "lora",
        "epochs": 3,
        "pooling": "mean",
        "head_learning_rate_factor": 5,
        "learning_rate": 1e-3,
    },
    "lora mean+head4": {
        "strategy": "lora",
        "epochs": 3,
        "pooling": "mean",
        "head_learning_rate_factor": 4,
    },
}


def subset(split: str, intents: list[str]) -> list[LabeledExample]:
    chosen = set(intents)
    return [
        LabeledExample.of(row["text"], row["label"])
        for row in read_split(split)
        if row["label"] in chosen
    ]


def run_variant(
    name: str, options: dict[str, Any], data: dict[str, list[LabeledExample]]
) -> dict[str, Any]:
    settings = get_settings()
    options = {**BASE, **options}
    strategy = Strategy(options.pop("strategy", "full"))
    args = spec_of(strategy).arguments_of(options)
    adapters = lora_config(args) if strategy is Strategy.lora else None
    device = plan_device(settings.device)
    trainer = FullFineTuner(
        args,
        base_model_path=settings.registered_base_models[settings.default_base_model],
        device=device,
        adapters=adapters,
    )
    started = time.perf_counter()
    result = trainer.train(data["train"], data["validation"])
    wall = time.perf_counter() - started
    served = SequenceClassifier.of_model(
        result.model.to(device.device), result.tokenizer, args.max_length, args.pooling
    )
    texts = [example.text for example in data["test"]]
    probabilities = torch.cat(
        [served.probabilities(texts[start : start + 128]) for start in range(0, len(texts), 128)]
    )
    report = evaluation_report(
        result.labels, data["test"], probabilities.numpy(), multi_label=False
    )
    return {
        "variant": name,
        "validation": result.metrics["accuracy"],
        "test": report["accuracy"],
        "ece": report["expected_calibration_error"],
        "epoch": result.metrics.get("best_epoch", result.metrics["epochs_trained"]),
        "wall": wall,
        "samples_per_second": result.metrics["train_samples_per_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--intents", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="override every variant's epochs")
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    every = sorted({row["label"] for row in read_split("train")} - {OUT_OF_SCOPE})
    intents = sorted(random.Random(args.seed).sample(every, args.intents))
    data = {split: subset(split, intents) for split in ("train", "validation", "test")}
    print(
        f"\n{args.intents} CLINC150 intents (seed {args.seed}): "
        + ", ".join(f"{split} {len(rows)}" for split, rows in data.items())
        + f"; base {BASE}\n"
    )
    print("| variant | validation acc | test acc | ECE | epoch kept | wall s | samples/s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.only:
        options = VARIANTS[name] | ({"epochs": args.epochs} if args.epochs else {})
        row = run_variant(name, options, data)
        print(
            f"| {row['variant']} | {100 * row['validation']:.1f} | {100 * row['test']:.1f} "
            f"| {row['ece']:.3f} | {row['epoch']} | {row['wall']:.0f} "
            f"| {row['samples_per_second']:.0f} |",
            flush=True,
        )
        print(f"  {name}: {VARIANTS[name]}", file=sys.stderr)


if __name__ == "__main__":
    main()
