"""`frozen`: the encoder stays as it is; only a head is fitted on its pooled layers."""

import math
import time
from collections.abc import Callable, Sequence
from functools import partial

import torch

from app.ml.arguments import FrozenArguments
from app.ml.data import LabeledExample, check_labels, encode_targets
from app.ml.evaluation import validation_summary
from app.ml.head import Head, HeldOut, LinearHead, MlpHead, fit_head
from app.ml.linear_probe import logistic_regression
from app.ml.progress import Callbacks, EpochReport, TrainingPaused, TrainingProgress
from app.ml.sentence import SentenceEncoder
from app.ml.sentence_classifier import SentenceClassifier

FeatureLookup = Callable[[Sequence[str]], torch.Tensor]
"""Texts to the features the head reads, `SentenceEncoder.reading` its `feature_layers`."""


class FrozenTrainer:
    def __init__(
        self,
        args: FrozenArguments,
        *,
        encoder: SentenceEncoder,
        features: FeatureLookup | None = None,
        callbacks: Callbacks | None = None,
    ) -> None:
        self.args = args
        self.encoder = encoder
        self.reads = encoder.reading(args.feature_layers)
        self.features = features or partial(encoder.embed, features=self.reads)
        self.callbacks = callbacks or Callbacks()

    def train(
        self,
        train: Sequence[LabeledExample],
        validation: Sequence[LabeledExample],
        *,
        multi_label: bool = False,
    ) -> SentenceClassifier:
        labels = check_labels(train, validation)
        started = time.perf_counter()
        train_features = self.features([example.text for example in train])
        if train_features.shape[1] != self.reads.dimension(self.encoder):
            raise ValueError(
                f"the features given are {train_features.shape[1]} wide; the head reads "
                f"{self.reads.layers} layers of {self.encoder.dimension}"
            )
        validation_features = self.features([example.text for example in validation])
        torch.manual_seed(self.args.seed)
        head = self._head(len(labels))
        held_out = HeldOut(validation_features, encode_targets(validation, labels, multi_label))
        train_targets = encode_targets(train, labels, multi_label)
        fit_head(
            head,
            train_features,
            train_targets,
            self.args,
            multi_label=multi_label,
            on_epoch=self._epoch,
            held_out=held_out if validation else None,
        )
        if validation and self.args.logistic_regression:
            head = best_on(held_out, head, train_features, train_targets, multi_label)
        classifier = SentenceClassifier(
            self.encoder, head, labels, multi_label, features=self.reads
        )
        finish(
            classifier,
            validation,
            validation_features,
            self.callbacks,
            self.args.epochs,
            calibrate=self.args.calibrate,
        )
        classifier.metrics |= training_figures(started, len(train), self.encoder)
        return classifier

    def _head(self, num_labels: int) -> Head:
        dimension, hidden = self.reads.dimension(self.encoder), self.args.hidden_size
        scale = math.sqrt(self.encoder.dimension)
        if hidden == 0:
            return LinearHead(dimension, num_labels, scale)
        return MlpHead(dimension, num_labels, scale, hidden, self.args.dropout)

    def _epoch(self, epoch: int, loss: float) -> None:
        self.callbacks.on_progress(
            TrainingProgress(epoch, self.args.epochs, epoch, self.args.epochs, loss, loss)
        )
        if self.callbacks.should_pause():
            raise TrainingPaused(epoch)


LOGISTIC_L2 = {False: (1e-5, 1e-4, 1e-3), True: (1e-9, 1e-8, 1e-7, 1e-6)}


def best_on(
    held_out: HeldOut,
    fitted: Head,
    features: torch.Tensor,
    targets: torch.Tensor,
    multi_label: bool,
) -> Head:
    """`fitted`, or the logistic regression that scores better than it on `held_out`. The
    penalties are per kind of loss: the multi-label loss is a mean over every label too."""
    best = (held_out.score(fitted, multi_label), fitted)
    for l2 in LOGISTIC_L2[multi_label]:
        linear = logistic_regression(
            features, targets, fitted.linear.out_features, multi_label=multi_label, l2=l2
        )
        head = LinearHead.of(linear)
        score = held_out.score(head, multi_label)
        if score > best[0]:
            best = (score, head)
    return best[1].eval()


def finish(
    classifier: SentenceClassifier,
    validation: Sequence[LabeledExample],
    validation_features: torch.Tensor,
    callbacks: Callbacks,
    epochs: int,
    *,
    calibrate: bool = False,
) -> SentenceClassifier:
    """Score the classifier on the validation examples, tune multi-label thresholds there (or
    with `calibrate` fit a single-label classifier's temperature), and report it as the final
    epoch."""
    calibration = {}
    if calibrate and not classifier.multi_label:
        calibration = {"temperature": classifier.calibrate(validation, validation_features)}
    probabilities = classifier.probabilities_of(validation_features).numpy()
    scores, thresholds = validation_summary(
        classifier.labels, validation, probabilities, multi_label=classifier.multi_label
    )
    classifier.metrics = scores | calibration | {"num_validation_examples": len(validation)}
    classifier.thresholds = thresholds
    callbacks.on_epoch(EpochReport(epochs, epochs, float("nan"), scores, True))
    return classifier


def training_figures(started: float, examples: int, encoder: SentenceEncoder) -> dict[str, float]:
    seconds = time.perf_counter() - started
    return {
        "train_seconds": seconds,
        "num_train_examples": examples,
        "encoded_texts": encoder.encoded_texts,
    }
