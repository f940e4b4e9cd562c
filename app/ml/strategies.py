"""Every strategy as one record: its arguments, how it trains, how its artifact is served and
exported, and what it needs, so that adding a strategy or changing one touches this table."""

import enum
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, get_args, get_origin

import torch
from peft import LoraConfig, TaskType

from app.ml.arguments import (
    FewShotArguments,
    FrozenArguments,
    FullFineTuneArguments,
    LoraArguments,
    StrategyArguments,
    TrainedArguments,
    ZeroShotArguments,
)
from app.ml.artifact import MANIFEST_NAME, Manifest
from app.ml.device import DevicePlan
from app.ml.embeddings import CachedEmbeddings
from app.ml.few_shot import FewShotTrainer
from app.ml.frozen import FrozenTrainer
from app.ml.lora_base import LoraBaseSource
from app.ml.plan import RunContext, StrategyPlan, TrainedClassifier
from app.ml.recipes import (
    DataShape,
    fine_tuning_defaults,
    fine_tuning_warnings,
    head_defaults,
    head_warnings,
)
from app.ml.runtime import Runtime
from app.ml.sentence import EncoderSource, SentenceEncoder
from app.ml.sentence_classifier import SentenceClassifier
from app.ml.sequence_classifier import SequenceClassifier, export_merged_lora
from app.ml.trainer import FullFineTuner
from app.ml.zero_shot import ZeroShotBuilder, zero_shot_warnings


class Strategy(enum.StrEnum):
    full = "full"
    lora = "lora"
    frozen = "frozen"
    few_shot = "few_shot"
    zero_shot = "zero_shot"


class Scorer(Protocol):
    @property
    def max_length(self) -> int: ...

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor: ...

    def token_lengths(self, texts: Sequence[str]) -> list[int]: ...

    def owned_bytes(self) -> int: ...


@dataclass(frozen=True)
class SharedBases:
    """Where served models find the base weights they share instead of loading their own."""

    encoders: EncoderSource = SentenceEncoder.served
    lora_bases: LoraBaseSource | None = None


A = TypeVar("A", bound=StrategyArguments)
Trainer = Callable[[StrategyPlan, A, RunContext], TrainedClassifier]
ScaledDefaults = Callable[[DataShape, A, Collection[str]], dict[str, Any]]
Warnings = Callable[[DataShape, A], list[str]]
Loader = Callable[[Path, Manifest, str, DevicePlan, SharedBases, Runtime], Scorer]
Export = Callable[[Path, str, Manifest, Path], None]


@dataclass(frozen=True)
class StrategySpec(Generic[A]):
    """Everything adaptd knows of one strategy.

    Attributes:
        arguments: The documented dataclass of its hyperparameters.
        train: Trains a classifier from a plan.
        load: Loads a saved artifact for serving on a runtime (torch, or an ONNX graph).
        shares_base: The artifact holds only what the strategy adds; serving reads the
            registered base model too.
        continues_from_model: A job may start from an earlier model of the strategy.
        needs_dataset: A job needs training examples (else label descriptions suffice).
        export: Writes a standalone Hugging Face model (source, base model path, manifest,
            output directory); None where the strategy has no such form.
        min_median_per_label: Refused below this median of examples per label.
        max_median_per_label: Refused above this median of examples per label.
        scaled_defaults: Defaults that depend on the data (how long to train, on what
            batches), for the hyperparameters a job does not give (the names it gives).
        warnings: What in a job's arguments will clearly under-train on its data.
        checkpoints: Training saves a checkpoint every epoch and resumes from it, so a run
            can stop after an epoch and go on later (`auto` races such runs).
    """

    strategy: Strategy
    arguments: type[A]
    train: Trainer[A]
    load: Loader
    shares_base: bool
    continues_from_model: bool
    needs_dataset: bool = True
    export: Export | None = None
    min_median_per_label: int | None = None
    max_median_per_label: int | None = None
    scaled_defaults: ScaledDefaults[A] = lambda _shape, _arguments, _given: {}
    warnings: Warnings[A] = lambda _shape, _arguments: []
    checkpoints: bool = False

    @property
    def trains_on_examples(self) -> bool:
        """The examples train the model, so some are held out to validate it; otherwise all of
        them only score it."""
        return issubclass(self.arguments, TrainedArguments)

    def arguments_of(self, hyperparameters: Mapping[str, Any], shape: DataShape | None = None) -> A:
        """The given hyperparameters over the defaults: those scaled to `shape` when the data
        is known, else the dataclass's. None is a value for the fields that take it (no early
        stopping) and means "not given" for the others."""
        tuples = {f.name for f in fields(self.arguments) if get_origin(f.type) is tuple}
        nullable = {f.name for f in fields(self.arguments) if type(None) in get_args(f.type)}
        given: dict[str, Any] = {
            name: tuple(value) if name in tuples else value
            for name, value in hyperparameters.items()
            if value is not None or name in nullable
        }
        arguments = self.arguments(**given)
        if shape is None:
            return arguments
        scaled = self.scaled_defaults(shape, arguments, given.keys())
        return replace(arguments, **{k: v for k, v in scaled.items() if k not in given})


def _fine_tune(
    plan: StrategyPlan, args: FullFineTuneArguments, context: RunContext
) -> TrainedClassifier:
    return _through_encoder(plan, args, context, adapters=None)


def _fine_tune_lora(
    plan: StrategyPlan, args: LoraArguments, context: RunContext
) -> TrainedClassifier:
    return _through_encoder(plan, args, context, adapters=lora_config(args))


def lora_config(args: LoraArguments) -> LoraConfig:
    modules = args.target_modules
    return LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=args.r,
        lora_alpha=args.alpha,
        lora_dropout=args.dropout,
        target_modules="all-linear" if modules == ("all-linear",) else list(modules),
    )


def _through_encoder(
    plan: StrategyPlan, args: FullFineTuneArguments, context: RunContext, **options: Any
) -> TrainedClassifier:
    result = FullFineTuner(
        args,
        base_model_path=plan.base_model_path,
        device=context.device,
        callbacks=context.callbacks,
        checkpoint_dir=context.checkpoint_dir,
        warm_start=plan.warm_start,
        **options,
    ).train(plan.train, plan.validation, multi_label=plan.multi_label)
    return TrainedClassifier(
        result.labels,
        result.metrics,
        result.multi_label,
        result.thresholds,
        result.save,
        pooling=args.pooling,
    )


def _fit_head(plan: StrategyPlan, args: FrozenArguments, context: RunContext) -> TrainedClassifier:
    encoder = _encoder(plan, context)
    reads = encoder.reading(args.feature_layers)
    features = (
        CachedEmbeddings(context.embeddings_dir, encoder, plan.corpora, reads)
        if context.embeddings_dir is not None
        else None
    )
    classifier = FrozenTrainer(
        args, encoder=encoder, features=features, callbacks=context.callbacks
    ).train(plan.train, plan.validation, multi_label=plan.multi_label)
    return _trained(classifier)


def _adapt_few_shot(
    plan: StrategyPlan, args: FewShotArguments, context: RunContext
) -> TrainedClassifier:
    trainer = FewShotTrainer(args, encoder=_encoder(plan, context), callbacks=context.callbacks)
    classifier = trainer.train(
        plan.train, plan.validation, descriptions=plan.descriptions, multi_label=plan.multi_label
    )
    return _trained(classifier)


def _describe_labels(
    plan: StrategyPlan, args: ZeroShotArguments, context: RunContext
) -> TrainedClassifier:
    builder = ZeroShotBuilder(args, encoder=_encoder(plan, context), callbacks=context.callbacks)
    classifier = builder.build(
        plan.labels,
        plan.descriptions,
        plan.validation,
        texts=[example.text for example in plan.train],
        multi_label=plan.multi_label,
    )
    return _trained(classifier)


def _encoder(plan: StrategyPlan, context: RunContext) -> SentenceEncoder:
    return SentenceEncoder.load(plan.base_model_path, plan.arguments.max_length, context.device)


def _trained(classifier: SentenceClassifier) -> TrainedClassifier:
    return TrainedClassifier(
        classifier.labels,
        classifier.metrics,
        classifier.multi_label,
        classifier.thresholds,
        classifier.save,
    )


def _load_sentence_classifier(
    directory: Path,
    manifest: Manifest,
    base_model_path: str,
    device: DevicePlan,
    shared: SharedBases,
    runtime: Runtime,
) -> Scorer:
    return SentenceClassifier.load(
        directory,
        base_model_path=base_model_path,
        labels=manifest.labels,
        multi_label=manifest.multi_label,
        max_length=manifest.max_length,
        device=device,
        encoders=shared.encoders,
        runtime=runtime,
    )


def _load_sequence_classifier(
    directory: Path,
    manifest: Manifest,
    base_model_path: str,
    device: DevicePlan,
    shared: SharedBases,
    runtime: Runtime,
) -> Scorer:
    return SequenceClassifier.load(
        directory,
        base_model_path=base_model_path,
        labels=manifest.labels,
        multi_label=manifest.multi_label,
        max_length=manifest.max_length,
        device=device,
        pooling=manifest.pooling,
        lora_bases=shared.lora_bases,
        runtime=runtime,
    )


def _copy_model(source: Path, _base_model_path: str, _manifest: Manifest, out: Path) -> None:
    shutil.copytree(source, out, dirs_exist_ok=True)


def _merge_lora(source: Path, base_model_path: str, manifest: Manifest, out: Path) -> None:
    export_merged_lora(
        source,
        base_model_path,
        manifest.labels,
        out,
        multi_label=manifest.multi_label,
        pooling=manifest.pooling,
    )
    shutil.copy2(source / MANIFEST_NAME, out / MANIFEST_NAME)


SPECS: dict[Strategy, StrategySpec[Any]] = {
    spec.strategy: spec
    for spec in (
        StrategySpec(
            Strategy.full,
            FullFineTuneArguments,
            _fine_tune,
            _load_sequence_classifier,
            shares_base=False,
            continues_from_model=True,
            export=_copy_model,
            min_median_per_label=5,
            scaled_defaults=fine_tuning_defaults,
            warnings=fine_tuning_warnings,
            checkpoints=True,
        ),
        StrategySpec(
            Strategy.lora,
            LoraArguments,
            _fine_tune_lora,
            _load_sequence_classifier,
            shares_base=True,
            continues_from_model=True,
            export=_merge_lora,
            min_median_per_label=5,
            scaled_defaults=fine_tuning_defaults,
            warnings=fine_tuning_warnings,
            checkpoints=True,
        ),
        StrategySpec(
            Strategy.frozen,
            FrozenArguments,
            _fit_head,
            _load_sentence_classifier,
            shares_base=True,
            continues_from_model=False,
            scaled_defaults=head_defaults,
            warnings=head_warnings,
        ),
        StrategySpec(
            Strategy.few_shot,
            FewShotArguments,
            _adapt_few_shot,
            _load_sentence_classifier,
            shares_base=False,
            continues_from_model=False,
            max_median_per_label=256,
            scaled_defaults=head_defaults,
            warnings=head_warnings,
        ),
        StrategySpec(
            Strategy.zero_shot,
            ZeroShotArguments,
            _describe_labels,
            _load_sentence_classifier,
            shares_base=True,
            continues_from_model=False,
            needs_dataset=False,
            warnings=zero_shot_warnings,
        ),
    )
}


def spec_of(strategy: str) -> StrategySpec[Any]:
    return SPECS[Strategy(strategy)]


def arguments_for(strategy: str, hyperparameters: Mapping[str, Any]) -> StrategyArguments:
    arguments: StrategyArguments = spec_of(strategy).arguments_of(hyperparameters)
    return arguments


def run(plan: StrategyPlan, context: RunContext) -> TrainedClassifier:
    return spec_of(plan.strategy).train(plan, plan.arguments, context)
