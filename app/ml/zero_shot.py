"""`zero_shot`: each label is represented by the embedding of its description; a text gets
the labels whose descriptions it is most similar to. Nothing is trained on labels: when the
job is given texts, each description's embedding moves toward the texts nearest it."""

import random
import time
from collections.abc import Mapping, Sequence

import torch

from app.ml.arguments import ZeroShotArguments
from app.ml.data import LabeledExample
from app.ml.frozen import finish, training_figures
from app.ml.head import LinearHead
from app.ml.progress import Callbacks
from app.ml.recipes import DataShape
from app.ml.sentence import SentenceEncoder
from app.ml.sentence_classifier import SentenceClassifier

MIN_TEXTS_PER_LABEL = 4
MAX_ADAPTATION_TEXTS = 10_000
ADAPTATION_ROUNDS = 10
ADAPTATION_TEMPERATURE = 0.03


def readable(label: str) -> str:
    """The default description of a label: its name with underscores and dashes as spaces."""
    return " ".join(label.replace("_", " ").replace("-", " ").split())


def descriptions_for(labels: Sequence[str], given: Mapping[str, str] | None) -> dict[str, str]:
    given = given or {}
    return {label: given.get(label) or readable(label) for label in labels}


def adapted(
    prototypes: torch.Tensor, texts: torch.Tensor, description_weight: float
) -> torch.Tensor:
    """The prototypes after a few rounds of soft k-means over `texts`, started from the
    descriptions, in which each description stays in its label's mean as
    `description_weight` texts."""
    descriptions = torch.nn.functional.normalize(prototypes, dim=-1)
    texts = torch.nn.functional.normalize(texts, dim=-1)
    moved = descriptions
    for _ in range(ADAPTATION_ROUNDS):
        shares = torch.softmax(texts @ moved.T / ADAPTATION_TEMPERATURE, dim=1)
        moved = torch.nn.functional.normalize(
            description_weight * descriptions + shares.T @ texts, dim=-1
        )
    return moved


def too_few_to_adapt(texts: int, labels: int) -> bool:
    return texts < MIN_TEXTS_PER_LABEL * labels


def zero_shot_warnings(shape: DataShape, arguments: ZeroShotArguments) -> list[str]:
    """A job given some texts, but too few for its prototypes to move toward them."""
    if not arguments.adapt_to_texts or not shape.examples:
        return []
    if not too_few_to_adapt(shape.examples, shape.labels):
        return []
    return [
        f"{shape.examples} texts for {shape.labels} labels are too few to adapt to (at least "
        f"{MIN_TEXTS_PER_LABEL} per label, {MIN_TEXTS_PER_LABEL * shape.labels}): texts are "
        "matched to the descriptions alone; give a sample of the texts the model will see as "
        "the dataset or validation dataset"
    ]


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
        texts: Sequence[str] = (),
        multi_label: bool = False,
    ) -> SentenceClassifier:
        """A classifier over `labels`. The texts of `texts` and `evaluation` (never their
        labels) move the prototypes; labeled `evaluation` examples also score the classifier
        (and, for multi-label models, tune each label's threshold)."""
        started = time.perf_counter()
        prototypes = self.encoder.embed([descriptions[label] for label in labels])
        evaluation_features = self.encoder.embed([e.text for e in evaluation])
        pool = self._adaptation_pool(len(labels), evaluation, texts, multi_label)
        if pool:
            known = {e.text: index for index, e in enumerate(evaluation)}
            unseen = [text for text in pool if text not in known]
            seen = [known[text] for text in pool if text in known]
            features = torch.cat([evaluation_features[seen], self.encoder.embed(unseen)])
            prototypes = adapted(prototypes, features, self.args.description_weight)
        bias = -self.args.scale * self.args.similarity_threshold if multi_label else 0.0
        head = LinearHead.from_prototypes(prototypes, self.args.scale, bias)
        classifier = SentenceClassifier(self.encoder, head, list(labels), multi_label)
        if evaluation:
            finish(classifier, evaluation, evaluation_features, self.callbacks, 1)
        classifier.metrics |= training_figures(started, 0, self.encoder)
        classifier.metrics["num_adaptation_texts"] = len(pool)
        return classifier

    def _adaptation_pool(
        self,
        num_labels: int,
        evaluation: Sequence[LabeledExample],
        texts: Sequence[str],
        multi_label: bool,
    ) -> list[str]:
        """The distinct texts the prototypes move toward (at most `MAX_ADAPTATION_TEXTS`,
        a fixed draw), or none where they are too few to move them reliably."""
        if not self.args.adapt_to_texts or multi_label:
            return []
        pool = list(dict.fromkeys([*texts, *(e.text for e in evaluation)]))
        if too_few_to_adapt(len(pool), num_labels):
            return []
        if len(pool) > MAX_ADAPTATION_TEXTS:
            pool = random.Random(0).sample(pool, MAX_ADAPTATION_TEXTS)
        return pool
