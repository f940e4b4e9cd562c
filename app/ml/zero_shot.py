"""`zero_shot`: each label is represented by the embedding of its description; a text gets
the labels whose descriptions it is most similar to. Nothing is trained."""

import time
from collections.abc import Mapping, Sequence

from app.ml.arguments import ZeroShotArguments
from app.ml.data import LabeledExample
from app.ml.frozen import finish, training_figures
from app.ml.head import LinearHead
from app.ml.progress import Callbacks
from app.ml.sentence import SentenceEncoder
from app.ml.sentence_classifier import SentenceClassifier


def readable(label: str) -> str:
    """The default description of a label: its name with underscores and dashes as spaces."""
    return " ".join(label.replace("_", " ").replace("-", " ").split())


def descriptions_for(labels: Sequence[str], given: Mapping[str, str] | None) -> dict[str, str]:
    given = given or {}
    return {label: given.get(label) or readable(label) for label in labels}


class ZeroShotBuilder:
    def __init__(
        self,
        args: ZeroShotArguments,
        *,
        encoder: SentenceEncoder,
        callbacks: Callbacks | None = None,
    ) -> None:
        self.args = args
        self.encoder = encoder
        self.callbacks = callbacks or Callbacks()

    def build(
        self,
        labels: Sequence[str],
        descriptions: Mapping[str, str],
        evaluation: Sequence[LabeledExample] = (),
        *,
        multi_label: bool = False,
    ) -> SentenceClassifier:
        """A classifier over `labels`; labeled `evaluation` examples, when given, only score it
        (and, for multi-label models, tune each label's threshold)."""
        started = time.perf_counter()
        prototypes = self.encoder.embed([descriptions[label] for label in labels])
        bias = -self.args.scale * self.args.similarity_threshold if multi_label else 0.0
        head = LinearHead.from_prototypes(prototypes, self.args.scale, bias)
        classifier = SentenceClassifier(self.encoder, head, list(labels), multi_label)
        if evaluation:
            finish(
                classifier,
                evaluation,
                self.encoder.embed([e.text for e in evaluation]),
                self.callbacks,
                1,
            )
        classifier.metrics |= training_figures(started, 0, self.encoder)
        return classifier
