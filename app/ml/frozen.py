"""`frozen`: the encoder stays as it is; only a linear head is fitted on its embeddings."""

import math
import time
from collections.abc import Callable, Sequence

import torch

from app.ml.arguments import FrozenArguments
from app.ml.data import LabeledExample, check_labels, encode_targets
from app.ml.evaluation import validation_summary
from app.ml.head import Head, HeldOut, LinearHead, MlpHead, fit_head
from app.ml.progress import Callbacks, EpochReport, TrainingPaused, TrainingProgress
from app.ml.sentence import SentenceEncoder
from app.ml.sentence_classifier import SentenceClassifier

FeatureLookup = Callable[[Sequence[str]], torch.Tensor]


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
        self.features = features or encoder.embed
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
        validation_features = self.features([example.text for example in validation])
        torch.manual_seed(self.args.seed)
        head = self._head(len(labels))
        held_out = HeldOut(validation_features, encode_targets(validation, labels, multi_label))
        fit_head(
            head,
            train_features,
            encode_targets(train, labels, multi_label),
            self.args,
            multi_label=multi_label,
            on_epoch=self._epoch,
            held_out=held_out if validation else None,
        )
        classifier = SentenceClassifier(self.encoder, head, labels, multi_label)
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
        dimension, hidden = self.encoder.dimension, self.args.hidden_size
        scale = math.sqrt(dimension)
        if hidden == 0:
            return LinearHead(dimension, num_labels, scale)
        return MlpHead(dimension, num_labels, scale, hidden, self.args.dropout)

    def _epoch(self, epoch: int, loss: float) -> None:
        self.callbacks.on_progress(
            TrainingProgress(epoch, self.args.epochs, epoch, self.args.epochs, loss, loss)
        )
        if self.callbacks.should_pause():
            raise TrainingPaused(epoch)


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
