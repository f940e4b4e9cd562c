"""What every trainer reports while it runs, and how it stops early on request."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingProgress:
    step: int
    total_steps: int
    epoch: int
    epochs: int
    loss: float
    epoch_loss: float

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 1.0


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    epochs: int
    train_loss: float
    validation: dict[str, float]
    is_best: bool
    resumed_at_step: int | None = None


class TrainingPaused(Exception):
    """Training stopped at a step boundary on request, after saving a checkpoint there."""

    def __init__(self, step: int) -> None:
        super().__init__(f"paused after step {step}")
        self.step = step


ProgressCallback = Callable[[TrainingProgress], None]
EpochCallback = Callable[[EpochReport], None]
PauseCheck = Callable[[], bool]


@dataclass(frozen=True)
class Callbacks:
    on_progress: ProgressCallback = lambda _progress: None
    on_epoch: EpochCallback = lambda _report: None
    should_pause: PauseCheck = lambda: False
