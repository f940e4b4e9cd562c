"""Runs any strategy from one plan, so that the job code path is the same for all of them."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.ml.arguments import (
    FewShotArguments,
    FullFineTuneArguments,
    HeadArguments,
    LoraArguments,
    ZeroShotArguments,
)
from app.ml.artifact import Manifest
from app.ml.data import LabeledExample
from app.ml.device import DevicePlan
from app.ml.embeddings import CachedEmbeddings
from app.ml.few_shot import FewShotTrainer
from app.ml.frozen import FrozenTrainer
from app.ml.progress import Callbacks
from app.ml.sentence import SentenceEncoder
from app.ml.trainer import FullFineTuner
from app.ml.warm_start import WarmStart
from app.ml.zero_shot import ZeroShotBuilder

Arguments = (
    FullFineTuneArguments | LoraArguments | HeadArguments | FewShotArguments | ZeroShotArguments
)
ARGUMENTS: dict[str, type[Arguments]] = {
    "full": FullFineTuneArguments,
    "lora": LoraArguments,
    "frozen": HeadArguments,
    "few_shot": FewShotArguments,
    "zero_shot": ZeroShotArguments,
}


def arguments_for(strategy: str, hyperparameters: Mapping[str, Any]) -> Arguments:
    """The strategy's arguments: the given hyperparameters over the dataclass defaults."""
    given = {name: value for name, value in hyperparameters.items() if value is not None}
    if "target_modules" in given:
        given["target_modules"] = tuple(given["target_modules"])
    return ARGUMENTS[strategy](**given)


@dataclass(frozen=True)
class StrategyPlan:
    strategy: str
    arguments: Arguments
    base_model_path: str
    train: list[LabeledExample]
    validation: list[LabeledExample]
    labels: list[str]
    descriptions: dict[str, str]
    multi_label: bool = False
    corpora: dict[str, list[str]] = field(default_factory=dict)
    warm_start: WarmStart | None = None


@dataclass(frozen=True)
class TrainedClassifier:
    labels: list[str]
    metrics: dict[str, float]
    multi_label: bool
    thresholds: list[float] | None
    save: Callable[[Path], None]


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
    )


@dataclass(frozen=True)
class RunContext:
    device: DevicePlan
    callbacks: Callbacks
    checkpoint_dir: Path | None = None
    embeddings_dir: Path | None = None


def run(plan: StrategyPlan, context: RunContext) -> TrainedClassifier:
    arguments = plan.arguments
    if isinstance(arguments, FullFineTuneArguments):
        result = FullFineTuner(
            arguments,
            base_model_path=plan.base_model_path,
            device=context.device,
            callbacks=context.callbacks,
            checkpoint_dir=context.checkpoint_dir,
            warm_start=plan.warm_start,
        ).train(plan.train, plan.validation, multi_label=plan.multi_label)
        return TrainedClassifier(
            result.labels, result.metrics, result.multi_label, result.thresholds, result.save
        )
    encoder = SentenceEncoder.load(plan.base_model_path, arguments.max_length, context.device)
    if isinstance(arguments, FewShotArguments):
        classifier = FewShotTrainer(arguments, encoder=encoder, callbacks=context.callbacks).train(
            plan.train,
            plan.validation,
            descriptions=plan.descriptions,
            multi_label=plan.multi_label,
        )
    elif isinstance(arguments, HeadArguments):
        features = (
            CachedEmbeddings(context.embeddings_dir, encoder, plan.corpora)
            if context.embeddings_dir is not None
            else None
        )
        classifier = FrozenTrainer(
            arguments, encoder=encoder, features=features, callbacks=context.callbacks
        ).train(plan.train, plan.validation, multi_label=plan.multi_label)
    else:
        classifier = ZeroShotBuilder(arguments, encoder=encoder, callbacks=context.callbacks).build(
            plan.labels, plan.descriptions, plan.validation, multi_label=plan.multi_label
        )
    return TrainedClassifier(
        classifier.labels,
        classifier.metrics,
        classifier.multi_label,
        classifier.thresholds,
        classifier.save,
    )
