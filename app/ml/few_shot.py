"""`few_shot`: for a handful of examples per label. The encoder is adapted with a supervised
contrastive loss on batches that pair examples of the same label (in the manner of SetFit),
then a linear head is fitted on the adapted embeddings (or a logistic regression on them, where
that scores better on the validation examples)."""

import math
import random
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

import torch
from transformers import get_linear_schedule_with_warmup

from app.ml.arguments import FewShotArguments
from app.ml.data import LabeledExample, check_labels, encode_targets
from app.ml.frozen import best_on, finish, training_figures
from app.ml.head import Head, HeldOut, LinearHead, fit_head
from app.ml.progress import Callbacks, TrainingPaused, TrainingProgress
from app.ml.sentence import SentenceEncoder
from app.ml.sentence_classifier import SentenceClassifier


class FewShotTrainer:
    def __init__(
        self,
        args: FewShotArguments,
        *,
        encoder: SentenceEncoder,
        callbacks: Callbacks | None = None,
    ) -> None:
        self.args = args
        self.encoder = encoder
        self.reads = encoder.reading(args.feature_layers)
        self.callbacks = callbacks or Callbacks()

    def train(
        self,
        train: Sequence[LabeledExample],
        validation: Sequence[LabeledExample],
        *,
        descriptions: Mapping[str, str],
        multi_label: bool = False,
    ) -> SentenceClassifier:
        labels = check_labels(train, validation)
        started = time.perf_counter()
        examples = list(train)
        if self.args.use_label_descriptions:
            examples += [LabeledExample.of(descriptions[label], label) for label in labels]
        self._adapt(examples, labels)
        head: Head = self._initial_head(labels, descriptions)
        features = self._features([example.text for example in examples])
        targets = encode_targets(examples, labels, multi_label)
        fit_head(head, features, targets, self.args, multi_label=multi_label)
        validation_features = self._features([example.text for example in validation])
        if validation and self.args.logistic_regression:
            held_out = HeldOut(validation_features, encode_targets(validation, labels, multi_label))
            head = best_on(held_out, head, features, targets, multi_label)
        classifier = SentenceClassifier(
            self.encoder, head, labels, multi_label, owns_encoder=True, features=self.reads
        )
        finish(
            classifier,
            validation,
            validation_features,
            self.callbacks,
            self.args.contrastive_epochs,
            calibrate=self.args.calibrate,
        )
        classifier.metrics |= training_figures(started, len(train), self.encoder)
        return classifier

    def _features(self, texts: Sequence[str]) -> torch.Tensor:
        return self.encoder.embed(texts, features=self.reads)

    def _initial_head(self, labels: list[str], descriptions: Mapping[str, str]) -> LinearHead:
        scale = math.sqrt(self.encoder.dimension)
        if self.args.use_label_descriptions:
            prototypes = self._features([descriptions[label] for label in labels])
            return LinearHead.from_prototypes(prototypes, scale)
        torch.manual_seed(self.args.seed)
        return LinearHead(self.reads.dimension(self.encoder), len(labels), scale)

    def _adapt(self, examples: list[LabeledExample], labels: list[str]) -> None:
        torch.manual_seed(self.args.seed)
        rng = random.Random(self.args.seed)
        membership = encode_targets(examples, labels, multi_label=True)
        batches_per_epoch = len(_paired_batches(examples, self.args.contrastive_batch_size, rng))
        total = batches_per_epoch * self.args.contrastive_epochs
        model = self.encoder.model
        optimizer = torch.optim.AdamW(model.parameters(), lr=self.args.contrastive_learning_rate)
        schedule = get_linear_schedule_with_warmup(optimizer, round(total * 0.1), total)
        scaler = torch.amp.GradScaler(enabled=self.encoder.device.needs_grad_scaler)
        model.train()
        step = 0
        for epoch in range(1, self.args.contrastive_epochs + 1):
            for batch in _paired_batches(examples, self.args.contrastive_batch_size, rng):
                embeddings = self.encoder.forward([examples[i].text for i in batch])
                loss = supervised_contrastive_loss(
                    embeddings, membership[batch].to(embeddings.device), self.args.temperature
                )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                schedule.step()
                step += 1
                self._report(step, total, epoch, float(loss.item()))
        model.eval()

    def _report(self, step: int, total: int, epoch: int, loss: float) -> None:
        epochs = self.args.contrastive_epochs
        self.callbacks.on_progress(TrainingProgress(step, total, epoch, epochs, loss, loss))
        if self.callbacks.should_pause():
            raise TrainingPaused(step)


def supervised_contrastive_loss(
    embeddings: torch.Tensor, membership: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Pull together texts that share a label and push apart the rest (Khosla et al. 2020)."""
    similarity = embeddings @ embeddings.T / temperature
    itself = torch.eye(len(embeddings), dtype=torch.bool, device=embeddings.device)
    similarity = similarity.masked_fill(itself, float("-inf"))
    log_probability = similarity - similarity.logsumexp(dim=1, keepdim=True)
    positive = ((membership @ membership.T) > 0) & ~itself
    counts = positive.sum(dim=1)
    anchors = counts > 0
    summed = log_probability.masked_fill(~positive, 0.0).sum(dim=1)
    return -(summed[anchors] / counts[anchors]).mean()


def _paired_batches(
    examples: Sequence[LabeledExample], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Every example once, in batches made of same-label pairs so that each has a positive."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_label[example.label].append(index)
    pairs: list[list[int]] = []
    for members in by_label.values():
        rng.shuffle(members)
        if len(members) % 2:
            members = [*members, rng.choice(members)]
        pairs.extend(members[i : i + 2] for i in range(0, len(members), 2))
    rng.shuffle(pairs)
    per_batch = max(1, batch_size // 2)
    return [
        [index for pair in pairs[start : start + per_batch] for index in pair]
        for start in range(0, len(pairs), per_batch)
    ]
