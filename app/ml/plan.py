"""What one training run is given and what it gives back, whatever its strategy."""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.ml.arguments import Pooling, StrategyArguments
from app.ml.artifact import Manifest
from app.ml.data import LabeledExample
from app.ml.device import DevicePlan
from app.ml.progress import Callbacks
from app.ml.warm_start import WarmStart


@dataclass(frozen=True)
class StrategyPlan:
    strategy: str
    arguments: StrategyArguments
    base_model_path: str
    train: list[LabeledExample]
    validation: list[LabeledExample]
    labels: list[str]
    descriptions: dict[str, str]
    multi_label: bool = False
    corpora: dict[str, list[str]] = field(default_factory=dict)
    warm_start: WarmStart | None = None

    @property
    def decision_metric(self) -> str:
        """The validation score that compares runs of this plan: `micro_f1` for multi-label
        data, else `accuracy`."""
        return "micro_f1" if self.multi_label else "accuracy"


@dataclass(frozen=True)
class RunContext:
    device: DevicePlan
    callbacks: Callbacks
    checkpoint_dir: Path | None = None
    embeddings_dir: Path | None = None


@dataclass(frozen=True)
class TrainedClassifier:
    labels: list[str]
    metrics: dict[str, float]
    multi_label: bool
    thresholds: list[float] | None
    save: Callable[[Path], None]
    pooling: Pooling = "cls"


def manifest_for(plan: StrategyPlan, trained: TrainedClassifier, base_model: str) -> Manifest:
    """What the artifact's `adaptd.json` records of a classifier trained by `plan`."""
    return Manifest(
        strategy=plan.strategy,
        base_model=base_model,
        labels=trained.labels,
        metrics=trained.metrics,
        hyperparameters=plan.arguments.to_dict(),
        max_length=plan.arguments.max_length,
        multi_label=trained.multi_label,
        thresholds=trained.thresholds,
        label_descriptions=plan.descriptions,
        pooling=trained.pooling,
    )
