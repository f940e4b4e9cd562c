import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True, slots=True)
class LabeledExample:
    """One text and its labels: exactly one for single-label data, any number for multi-label."""

    text: str
    labels: tuple[str, ...]

    @classmethod
    def of(cls, text: str, label: str | Sequence[str]) -> "LabeledExample":
        return cls(text, (label,) if isinstance(label, str) else tuple(label))

    @property
    def label(self) -> str:
        return self.labels[0] if self.labels else ""


class TrainingDataError(ValueError):
    """The examples cannot train a classifier; the message says why and what to do."""


def label_names(examples: Sequence[LabeledExample]) -> list[str]:
    return sorted({label for example in examples for label in example.labels})


def check_labels(
    train: Sequence[LabeledExample], validation: Sequence[LabeledExample]
) -> list[str]:
    """The training labels, after checking there are two or more and validation adds none."""
    labels = label_names(train)
    if len(labels) < 2:
        raise TrainingDataError(f"training data has {len(labels)} label(s); at least 2 needed")
    unknown = sorted(set(label_names(validation)) - set(labels))
    if unknown:
        raise TrainingDataError(f"validation labels missing from training data: {unknown}")
    return labels


def encode_targets(
    examples: Sequence[LabeledExample], labels: Sequence[str], multi_label: bool
) -> torch.Tensor:
    """Class indices for single-label data; a multi-hot float matrix for multi-label data."""
    index = {label: position for position, label in enumerate(labels)}
    if not multi_label:
        return torch.tensor([index[example.label] for example in examples], dtype=torch.long)
    targets = torch.zeros(len(examples), len(labels))
    for row, example in enumerate(examples):
        targets[row, [index[label] for label in example.labels]] = 1.0
    return targets


def stratified_split(
    examples: Sequence[LabeledExample], fraction: float, seed: int
) -> tuple[list[LabeledExample], list[LabeledExample]]:
    """Hold out about `fraction` of each label, always leaving at least one example to train on.

    Multi-label examples are grouped by their first label.
    """
    by_label: dict[str, list[LabeledExample]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    rng = random.Random(seed)
    train: list[LabeledExample] = []
    held_out: list[LabeledExample] = []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        count = _held_out_of(len(group), fraction)
        held_out.extend(group[:count])
        train.extend(group[count:])
    if not held_out:
        donor = max(by_label.values(), key=len)
        if len(donor) < 2:
            raise TrainingDataError("every label has one example; nothing can be held out")
        train.remove(donor[0])
        held_out.append(donor[0])
    return train, held_out


def held_out_count(group_sizes: Iterable[int], fraction: float) -> int:
    """How many examples `stratified_split` holds out of labels with these many examples."""
    return max(1, sum(_held_out_of(size, fraction) for size in group_sizes))


def _held_out_of(size: int, fraction: float) -> int:
    return min(size - 1, round(size * fraction))
