"""What a training run needs to continue where it stopped: weights, optimizer, schedule,
and the early-stopping record. Written after every epoch, read by the next attempt."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_NAME = "checkpoint.pt"
# An epoch's validation score, compared as a tuple: the early-stopping metric, then the tie-break.
Score = tuple[float, float]


@dataclass
class TrainingState:
    epochs_done: int = 0
    steps_done: int = 0
    best_epoch: int = 0
    best_score: Score | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    last_metrics: dict[str, float] = field(default_factory=dict)
    epochs_without_improvement: int = 0
    batches_into_epoch: int = 0
    epoch_loss_sum: float = 0.0
    epoch_examples: int = 0
    best_weights: dict[str, torch.Tensor] | None = None

    def record(
        self, epoch: int, score: Score, metrics: dict[str, float], model: Any, keep: bool
    ) -> bool:
        """Note an epoch's validation score (higher is better); True when it is the best yet."""
        self.epochs_done, self.last_metrics = epoch, dict(metrics)
        self.batches_into_epoch, self.epoch_loss_sum, self.epoch_examples = 0, 0.0, 0
        best = _as_score(self.best_score)
        improved = best is None or score > best
        if improved:
            self.best_epoch, self.best_score, self.best_metrics = epoch, score, dict(metrics)
            self.epochs_without_improvement = 0
            if keep:
                self.best_weights = {
                    k: v.detach().cpu().clone() for k, v in model.state_dict().items()
                }
        else:
            self.epochs_without_improvement += 1
        return improved


def _as_score(value: Score | float | list[float] | None) -> Score | None:
    """A checkpoint written before scores had a tie-break holds a bare float; as then, only a
    higher metric beats it."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return (float(value), float("inf"))
    return (float(value[0]), float(value[1]))


def save_checkpoint(
    directory: Path, *, state: TrainingState, model: Any, optimizer: Any, schedule: Any, scaler: Any
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    staging = directory / f".{CHECKPOINT_NAME}.partial"
    torch.save(
        {
            "state": {**state.__dict__, "best_weights": state.best_weights},
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            "scaler": scaler.state_dict(),
            "rng": torch.get_rng_state(),
        },
        staging,
    )
    os.replace(staging, directory / CHECKPOINT_NAME)


def load_checkpoint(
    directory: Path, *, model: Any, optimizer: Any, schedule: Any, scaler: Any
) -> TrainingState | None:
    path = directory / CHECKPOINT_NAME
    if not path.is_file():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    scaler.load_state_dict(saved["scaler"])
    torch.set_rng_state(saved["rng"])
    return TrainingState(**saved["state"])
