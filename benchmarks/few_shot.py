"""Ablations of `few_shot` on CLINC150 with a handful of examples per intent, through the
strategy's own trainer.

Every variant adapts a fresh copy of the default base model on the same examples (`--shots` per
intent, in-scope intents only, each label's name as its description), is read on the
validation split (20 texts per intent) and scored on the test split. Choose on the validation
column; the test column is what a user would see. Prints one table.

    python -m benchmarks.few_shot --shots 10 --only default lr5e-5
"""

import argparse
import sys
import time
from dataclasses import asdict
from typing import Any

import torch

from app.core.config import get_settings
from app.ml.data import LabeledExample
from app.ml.device import plan_device
from app.ml.evaluation import evaluation_report
from app.ml.few_shot import FewShotTrainer
from app.ml.recipes import DataShape, head_defaults
from app.ml.sentence import SentenceEncoder
from app.ml.strategies import Strategy, spec_of
from app.ml.zero_shot import descriptions_for
from benchmarks.common import OUT_OF_SCOPE, per_label, read_split

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "lr 5e-5": {"contrastive_learning_rate": 5e-5},
    "lr 1e-4": {"contrastive_learning_rate": 1e-4},
    "16 epochs": {"contrastive_epochs": 16},
    "temperature 0.1": {"temperature": 0.1},
    "batch 64": {"contrastive_batch_size": 64},
    "no descriptions": {"use_label_descriptions": False},
    "no logistic regression": {"logistic_regression": False},
    "sentence embedding alone": {"feature_layers": 1},
    "2 layers": {"feature_layers": 2},
    "3 layers": {"feature_layers": 3},
    "6 layers": {"feature_layers": 6},
}


def examples(rows: list[dict[str, str]]) -> list[LabeledExample]:
    return [LabeledExample.of(row["text"], row["label"]) for row in rows]


def run_variant(options: dict[str, Any], data: dict[str, list[LabeledExample]]) -> dict[str, Any]:
    settings = get_settings()
    spec = spec_of(Strategy.few_shot)
    labels = sorted({example.label for example in data["train"]})
    shape = DataShape(len(data["train"]) + len(labels), len(labels))
    args = spec.arguments_of(options)
    args = spec.arguments_of(options | head_defaults(shape, args, options))
    device = plan_device(settings.device)
    encoder = SentenceEncoder.load(
        settings.registered_base_models[settings.default_base_model], args.max_length, device
    )
    descriptions = descriptions_for(labels, None)
    started = time.perf_counter()
    classifier = FewShotTrainer(args, encoder=encoder).train(
        data["train"], data["validation"], descriptions=descriptions
    )
    wall = time.perf_counter() - started
    texts = [example.text for example in data["test"]]
    with torch.inference_mode():
        probabilities = classifier.probabilities(texts)
    report = evaluation_report(labels, data["test"], probabilities.numpy(), multi_label=False)
    return {
        "validation": classifier.metrics["accuracy"],
        "test": report["accuracy"],
        "ece": report["expected_calibration_error"],
        "wall": wall,
        "arguments": asdict(args),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    in_scope = {
        split: [row for row in read_split(split) if row["label"] != OUT_OF_SCOPE]
        for split in ("train", "validation", "test")
    }
    data = {
        "train": examples(per_label(in_scope["train"], args.shots, seed=args.seed)),
        "validation": examples(in_scope["validation"]),
        "test": examples(in_scope["test"]),
    }
    print(
        f"\nCLINC150, {args.shots} per intent (seed {args.seed}), in-scope only: "
        + ", ".join(f"{split} {len(rows)}" for split, rows in data.items())
        + "; the strategy's defaults unless the variant says otherwise\n"
    )
    print("| variant | validation acc | test acc | ECE | wall s |")
    print("|---|---|---|---|---|")
    for name in args.only:
        row = run_variant(VARIANTS[name], data)
        print(
            f"| {name} | {100 * row['validation']:.1f} | {100 * row['test']:.1f} "
            f"| {row['ece']:.3f} | {row['wall']:.0f} |",
            flush=True,
        )
        print(f"  {name}: {row['arguments']}", file=sys.stderr)


if __name__ == "__main__":
    main()
