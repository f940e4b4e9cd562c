import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LabeledExample:
    text: str
    label: str


class TrainingDataError(ValueError):
    """The examples cannot train a classifier; the message says why and what to do."""


def label_names(examples: Sequence[LabeledExample]) -> list[str]:
    return sorted({example.label for example in examples})


def stratified_split(
    examples: Sequence[LabeledExample], fraction: float, seed: int
) -> tuple[list[LabeledExample], list[LabeledExample]]:
    """Hold out about `fraction` of each label, always leaving at least one example to train on."""
    by_label: dict[str, list[LabeledExample]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    rng = random.Random(seed)
    train: list[LabeledExample] = []
    held_out: list[LabeledExample] = []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        count = min(len(group) - 1, round(len(group) * fraction))
        held_out.extend(group[:count])
        train.extend(group[count:])
    if not held_out:
        donor = max(by_label.values(), key=len)
        if len(donor) < 2:
            raise TrainingDataError("every label has one example; nothing can be held out")
        train.remove(donor[0])
        held_out.append(donor[0])
    return train, held_out
