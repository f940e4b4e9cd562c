"""Ablations of the `frozen` head on CLINC150: every variant fits a head on the same cached
all-MiniLM-L6-v2 sentence embeddings of the train split (`oos` as a class), picks what it picks
on the validation split, and is scored on the test split. Prints in-scope accuracy, out-of-scope
recall, expected calibration error and fitting time.

    python -m benchmarks.heads
"""

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from app.core.config import get_settings
from app.ml.arguments import FrozenArguments
from app.ml.calibration import fit_temperature
from app.ml.data import LabeledExample, encode_targets, label_names
from app.ml.device import plan_device
from app.ml.evaluation import evaluation_report
from app.ml.frozen import best_on
from app.ml.head import Head, HeldOut, LinearHead, MlpHead, fit_head
from app.ml.linear_probe import logistic_regression
from app.ml.sentence import SENTENCE, Features, SentenceEncoder
from benchmarks.common import OUT_OF_SCOPE, read_split

RESULTS = Path(__file__).parent / "results"
Fit = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.nn.Module]


def embeddings(split: str, texts: list[str], features: Features = SENTENCE) -> torch.Tensor:
    """The features of a split's texts, computed once and kept under benchmarks/results."""
    suffix = "" if features == SENTENCE else f"-layers{features.layers}"
    path = RESULTS / f"minilm-{split}{suffix}.pt"
    if path.is_file():
        cached: torch.Tensor = torch.load(path)
        return cached
    settings = get_settings()
    encoder = SentenceEncoder.load(
        settings.registered_base_models[settings.default_base_model], 128, plan_device("cpu")
    )
    matrix = encoder.embed(texts, features)
    RESULTS.mkdir(exist_ok=True)
    torch.save(matrix, path)
    return matrix


def adamw(args: FrozenArguments, keep_best: bool = False, compare: bool = False) -> Fit:
    """The `frozen` strategy's own head and fitting, with these arguments."""

    def fit(x: torch.Tensor, y: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor) -> Head:
        torch.manual_seed(args.seed)
        labels, scale = int(y.max()) + 1, x.shape[1] ** 0.5
        head: Head = (
            MlpHead(x.shape[1], labels, scale, args.hidden_size, args.dropout)
            if args.hidden_size
            else LinearHead(x.shape[1], labels, scale)
        )
        held_out = HeldOut(vx, vy) if keep_best else None
        fit_head(head, x, y, args, multi_label=False, held_out=held_out)
        return best_on(HeldOut(vx, vy), head, x, y, multi_label=False) if compare else head

    return fit


def lbfgs(l2s: list[float]) -> Fit:
    """Logistic regression; the L2 penalty with the best validation accuracy."""

    def fit(
        x: torch.Tensor, y: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor
    ) -> torch.nn.Module:
        best: tuple[float, torch.nn.Module] | None = None
        for l2 in l2s:
            model = logistic_regression(x, y, int(y.max()) + 1, multi_label=False, l2=l2)
            with torch.no_grad():
                accuracy = float((model(vx).argmax(1) == vy).float().mean())
            if best is None or accuracy > best[0]:
                best = (accuracy, model)
        assert best is not None
        return best[1]

    return fit


LINEAR = FrozenArguments(hidden_size=0)
VARIANTS: dict[str, Fit] = {
    "linear, AdamW 40 epochs (before)": adamw(LINEAR),
    "linear, AdamW 100 epochs": adamw(replace(LINEAR, epochs=100)),
    "linear, AdamW 40 epochs lr 3e-3": adamw(replace(LINEAR, learning_rate=3e-3)),
    "linear, AdamW 100 epochs wd 0": adamw(replace(LINEAR, epochs=100, weight_decay=0.0)),
    "linear, L-BFGS l2 1e-4": lbfgs([1e-4]),
    "linear, L-BFGS l2 from 1e-5..1e-2 on validation": lbfgs(
        [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
    ),
    "MLP 1024, dropout 0.1, 40 epochs": adamw(FrozenArguments()),
    "MLP 1024, dropout 0.1, best validation epoch": adamw(FrozenArguments(), True),
    "that or an L-BFGS logistic regression, best on validation (default)": adamw(
        FrozenArguments(), True, True
    ),
    "MLP 2048, dropout 0.2, 60 epochs": adamw(
        FrozenArguments(hidden_size=2048, dropout=0.2, epochs=60)
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    splits = {name: read_split(name) for name in ("train", "validation", "test")}
    examples = {
        name: [LabeledExample.of(row["text"], row["label"]) for row in rows]
        for name, rows in splits.items()
    }
    labels = label_names(examples["train"])
    features = {name: embeddings(name, [e.text for e in rows]) for name, rows in examples.items()}
    targets = {
        name: encode_targets(rows, labels, multi_label=False) for name, rows in examples.items()
    }
    in_scope = np.array([e.label != OUT_OF_SCOPE for e in examples["test"]])
    print("\nCLINC150, all-MiniLM-L6-v2 embeddings, oos as a class; test split\n")
    print("| head | in-scope acc | oos recall | ECE | ECE after temperature | fit s |")
    print("|---|---|---|---|---|---|")
    for name in args.only:
        started = time.perf_counter()
        head = VARIANTS[name](
            features["train"], targets["train"], features["validation"], targets["validation"]
        )
        seconds = time.perf_counter() - started
        with torch.no_grad():
            logits = head(features["test"])
            temperature = fit_temperature(head(features["validation"]), targets["validation"])
        best = logits.argmax(1).numpy()
        truth = targets["test"].numpy()
        accuracy = (best == truth)[in_scope].mean()
        oos = labels.index(OUT_OF_SCOPE)
        recall = (best == oos)[~in_scope].mean()
        eces = [
            evaluation_report(
                labels, examples["test"], (logits / t).softmax(1).numpy(), multi_label=False
            )["expected_calibration_error"]
            for t in (1.0, temperature)
        ]
        print(
            f"| {name} | {100 * accuracy:.1f} | {100 * recall:.1f} | {eces[0]:.3f} "
            f"| {eces[1]:.3f} | {seconds:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
