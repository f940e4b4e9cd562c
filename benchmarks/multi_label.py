"""Heads for multi-label data on fixed embeddings: texts built from CLINC150 (one utterance
with its intent, two utterances of different intents with both, out-of-scope utterances with
none; see `common.multi_label_split`), all-MiniLM-L6-v2 embeddings (the sentence embedding, or
the last layers' pooled states the `frozen` head reads), thresholds per label tuned on the
validation split, scored on the test split. `frozen (default)` is the
strategy's own trainer; the anchor is one scikit-learn logistic regression per label.

    python -m benchmarks.multi_label [--per-label 20]
"""

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from app.core.config import get_settings
from app.ml.arguments import FrozenArguments
from app.ml.data import LabeledExample, encode_targets, label_names
from app.ml.device import plan_device
from app.ml.evaluation import evaluation_report, tune_thresholds
from app.ml.frozen import FrozenTrainer
from app.ml.head import average_precision
from app.ml.linear_probe import logistic_regression
from app.ml.sentence import SENTENCE, Features, SentenceEncoder
from benchmarks.common import multi_label_split, multi_label_subsample

Probabilities = Callable[[list[str]], np.ndarray]
Fit = Callable[
    [list[LabeledExample], list[LabeledExample], list[str], SentenceEncoder], Probabilities
]


def frozen(args: FrozenArguments) -> Fit:
    """The `frozen` strategy's trainer, on cached features."""

    def fit(
        train: list[LabeledExample],
        validation: list[LabeledExample],
        labels: list[str],
        encoder: SentenceEncoder,
    ) -> Probabilities:
        reads = encoder.reading(args.feature_layers)
        features = partial(encoder.embed, features=reads)
        classifier = FrozenTrainer(args, encoder=encoder, features=features).train(
            train, validation, multi_label=True
        )
        assert classifier.labels == labels

        def probabilities(texts: list[str]) -> np.ndarray:
            return classifier.probabilities(texts).numpy()

        return probabilities

    return fit


def one_logistic_regression_per_label(c: float) -> Fit:
    def fit(
        train: list[LabeledExample],
        validation: list[LabeledExample],
        labels: list[str],
        encoder: SentenceEncoder,
    ) -> Probabilities:
        features = encoder.embed([example.text for example in train]).numpy()
        targets = encode_targets(train, labels, multi_label=True).numpy()
        model = OneVsRestClassifier(LogisticRegression(C=c, max_iter=1000), n_jobs=1)
        model.fit(features, targets)

        def probabilities(texts: list[str]) -> np.ndarray:
            return np.asarray(model.predict_proba(encoder.embed(texts).numpy()))

        return probabilities

    return fit


def lbfgs_per_label(l2s: list[float]) -> Fit:
    """One-vs-rest logistic regression by L-BFGS; the L2 penalty with the best validation
    average precision."""

    def fit(
        train: list[LabeledExample],
        validation: list[LabeledExample],
        labels: list[str],
        encoder: SentenceEncoder,
    ) -> Probabilities:
        x = encoder.embed([example.text for example in train])
        y = encode_targets(train, labels, multi_label=True)
        vx = encoder.embed([example.text for example in validation])
        vy = encode_targets(validation, labels, multi_label=True)
        fitted = []
        for l2 in l2s:
            model = logistic_regression(x, y, len(labels), multi_label=True, l2=l2)
            with torch.no_grad():
                fitted.append((average_precision(model(vx).flatten(), vy.flatten()), l2, model))
        for score, l2, _ in fitted:
            print(f"  l2 {l2:g}: validation AP {score:.3f}")
        score, l2, best = max(fitted, key=lambda item: item[0])
        print(f"  l2 {l2:g}: validation AP {score:.3f}")

        def probabilities(texts: list[str]) -> np.ndarray:
            with torch.no_grad():
                return best(encoder.embed(texts)).sigmoid().numpy()

        return probabilities

    return fit


VARIANTS: dict[str, Fit] = {
    "frozen (default)": frozen(FrozenArguments()),
    "frozen, linear head": frozen(FrozenArguments(hidden_size=0)),
    "frozen, the sentence embedding alone (before)": frozen(FrozenArguments(feature_layers=1)),
    "logistic regression per label, C=1 (anchor)": one_logistic_regression_per_label(1.0),
    "logistic regression per label, C=10": one_logistic_regression_per_label(10.0),
    "L-BFGS per label, l2 on validation": lbfgs_per_label([1e-9, 1e-8, 1e-7, 1e-6]),
}


class CachedEncoder:
    """The base encoder, embedding each distinct text once for every variant: its most
    layers, of which fewer are the last columns."""

    def __init__(self) -> None:
        settings = get_settings()
        self.encoder = SentenceEncoder.load(
            settings.registered_base_models[settings.default_base_model], 128, plan_device("cpu")
        )
        self.cache: dict[str, torch.Tensor] = {}
        self.most = Features(self.encoder.num_layers)
        self.compute = partial(self.encoder.embed, features=self.most)

    def embed(self, texts: Sequence[str], features: Features = SENTENCE) -> torch.Tensor:
        missing = list(dict.fromkeys(text for text in texts if text not in self.cache))
        if missing:
            self.cache.update(zip(missing, self.compute(missing), strict=True))
        columns = features.dimension(self.encoder)
        return torch.stack([self.cache[text][-columns:] for text in texts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--per-label", type=int, help="train on at most this many per label")
    args = parser.parse_args()
    built = {name: multi_label_split(name) for name in ("train", "validation", "test")}
    if args.per_label:
        built["train"] = multi_label_subsample(built["train"], args.per_label, seed=0)
    splits = {
        name: [LabeledExample.of(text, labels) for text, labels in examples]
        for name, examples in built.items()
    }
    labels = label_names(splits["train"])
    cached = CachedEncoder()
    encoder = cached.encoder
    encoder.embed = cached.embed  # type: ignore[method-assign]
    test_texts = [example.text for example in splits["test"]]
    validation_texts = [example.text for example in splits["validation"]]
    shape = f"{len(splits['train'])} train examples, {len(labels)} labels"
    print(f"\nmulti-label CLINC150 ({shape}); test split, {len(splits['test'])} texts\n")
    print("| head | micro-F1 | macro-F1 | exact match | fit s |")
    print("|---|---|---|---|---|")
    for name in args.only:
        started = time.perf_counter()
        probabilities = VARIANTS[name](splits["train"], splits["validation"], labels, encoder)
        seconds = time.perf_counter() - started
        thresholds = tune_thresholds(labels, splits["validation"], probabilities(validation_texts))
        report = evaluation_report(
            labels,
            splits["test"],
            probabilities(test_texts),
            multi_label=True,
            thresholds=thresholds,
        )
        print(
            f"| {name} | {report['micro_f1']:.3f} | {report['macro_f1']:.3f} "
            f"| {100 * report['accuracy']:.1f} | {seconds:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
