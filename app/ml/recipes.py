"""Defaults that scale with the data: how long each strategy trains on the examples a job has,
and which settings a user gave that will clearly under-train."""

import math
from collections.abc import Collection
from dataclasses import dataclass

from app.ml.arguments import FullFineTuneArguments, HeadArguments


@dataclass(frozen=True)
class DataShape:
    """What a job will train on: its training examples (after the validation split), or for
    a strategy that trains on none every text it is given, and its labels."""

    examples: int
    labels: int

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, math.ceil(self.examples / batch_size))


@dataclass(frozen=True)
class StepBudget:
    """Enough optimizer steps to fit, as epochs within bounds; fewer steps than `warn_below`
    are too few to trust."""

    steps: int
    min_epochs: int
    max_epochs: int
    warn_below: int

    def epochs(self, shape: DataShape, batch_size: int) -> int:
        wanted = math.ceil(self.steps / shape.steps_per_epoch(batch_size))
        return min(self.max_epochs, max(self.min_epochs, wanted))

    def warning(self, shape: DataShape, batch_size: int, epochs: int, what: str) -> str | None:
        steps = shape.steps_per_epoch(batch_size) * epochs
        if steps >= self.warn_below:
            return None
        default = self.epochs(shape, batch_size)
        return (
            f"epochs {epochs} at batch_size {batch_size} is {steps} optimizer steps on "
            f"{shape.examples} examples: too few to fit {what}, and the model may score near "
            f"chance; leave epochs out to train {default} epochs "
            f"({shape.steps_per_epoch(batch_size) * default} steps)"
        )


FINE_TUNING = StepBudget(steps=1500, min_epochs=3, max_epochs=30, warn_below=150)
HEAD_FITTING = StepBudget(steps=3000, min_epochs=40, max_epochs=2000, warn_below=300)
MIN_FINE_TUNING_BATCH = 8


def fine_tuning_batch(shape: DataShape, batch_size: int) -> int:
    """Small data trains on smaller batches rather than on one step an epoch: the batch is
    halved, down to 8, while even the longest default run would be too few steps."""
    while (
        batch_size > MIN_FINE_TUNING_BATCH
        and FINE_TUNING.max_epochs * shape.steps_per_epoch(batch_size) < FINE_TUNING.warn_below
    ):
        batch_size //= 2
    return batch_size


def fine_tuning_defaults(
    shape: DataShape, arguments: FullFineTuneArguments, given: Collection[str]
) -> dict[str, int]:
    batch_size = (
        arguments.batch_size
        if "batch_size" in given
        else fine_tuning_batch(shape, arguments.batch_size)
    )
    return {"batch_size": batch_size, "epochs": FINE_TUNING.epochs(shape, batch_size)}


def head_defaults(
    shape: DataShape, arguments: HeadArguments, _given: Collection[str]
) -> dict[str, int]:
    return {"epochs": HEAD_FITTING.epochs(shape, arguments.batch_size)}


def fine_tuning_warnings(shape: DataShape, arguments: FullFineTuneArguments) -> list[str]:
    batch_size, epochs = arguments.batch_size, arguments.epochs
    if epochs < FINE_TUNING.epochs(shape, batch_size):
        warning = FINE_TUNING.warning(shape, batch_size, epochs, "the encoder and a new head")
        return [warning] if warning else []
    steps = shape.steps_per_epoch(batch_size) * epochs
    if steps >= FINE_TUNING.warn_below:
        return []
    return [
        f"{shape.examples} training examples are few for fine-tuning the whole encoder: "
        f"{epochs} epochs at batch_size {batch_size} are {steps} optimizer steps; `frozen` "
        "and `few_shot` usually score better on this little data (`auto` measures them)"
    ]


def head_warnings(shape: DataShape, arguments: HeadArguments) -> list[str]:
    warning = HEAD_FITTING.warning(shape, arguments.batch_size, arguments.epochs, "the head")
    return [warning] if warning else []
