from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from app.ml.artifact import Manifest
from app.ml.device import DevicePlan, plan_device
from app.ml.loading import BaseModelError
from app.ml.sentence_classifier import SentenceClassifier
from app.ml.sequence_classifier import SequenceClassifier

SENTENCE_STRATEGIES = frozenset({"frozen", "few_shot", "zero_shot"})
STRATEGIES_ON_A_SHARED_BASE = frozenset({"frozen", "zero_shot", "lora"})


class Scorer(Protocol):
    def probabilities(self, texts: Sequence[str]) -> torch.Tensor: ...


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


@dataclass(frozen=True)
class Prediction:
    """The best label and its score; `labels` are all labels the model assigns: the best one
    for single-label models, every label at or above its threshold for multi-label models."""

    label: str
    score: float
    labels: list[str]
    scores: list[LabelScore]


class Predictor:
    """Serves a saved classifier of any strategy: texts in, labels with probabilities out."""

    def __init__(self, scorer: Scorer, manifest: Manifest, batch_size: int = 64) -> None:
        self.scorer = scorer
        self.manifest = manifest
        self.batch_size = batch_size
        self.labels = manifest.labels
        self.thresholds = manifest.thresholds or [0.5] * len(manifest.labels)

    @classmethod
    def from_pretrained(
        cls,
        directory: Path,
        base_models: Mapping[str, str] | None = None,
        device: DevicePlan | None = None,
    ) -> "Predictor":
        manifest = Manifest.read(directory)
        base_model_path = (base_models or {}).get(manifest.base_model)
        if base_model_path is None and manifest.strategy in STRATEGIES_ON_A_SHARED_BASE:
            raise BaseModelError(
                f"base model {manifest.base_model!r} of this model is not registered here"
            )
        return cls(_scorer(directory, manifest, base_model_path or "", device), manifest)

    @property
    def multi_label(self) -> bool:
        return self.manifest.multi_label

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        return torch.cat(
            [
                self.scorer.probabilities(list(texts[start : start + self.batch_size]))
                for start in range(0, len(texts), self.batch_size)
            ]
        )

    def predict(
        self,
        texts: Sequence[str],
        top_k: int | None = None,
        thresholds: Mapping[str, float] | None = None,
    ) -> list[Prediction]:
        cutoffs = self._cutoffs(thresholds or {})
        return [self._prediction(row, top_k, cutoffs) for row in self.probabilities(texts).tolist()]

    def _cutoffs(self, overrides: Mapping[str, float]) -> list[float]:
        return [
            overrides.get(label, default)
            for label, default in zip(self.labels, self.thresholds, strict=True)
        ]

    def _prediction(self, row: list[float], top_k: int | None, cutoffs: list[float]) -> Prediction:
        ranked = sorted(
            (LabelScore(label, score) for label, score in zip(self.labels, row, strict=True)),
            key=lambda item: item.score,
            reverse=True,
        )
        if self.multi_label:
            chosen = [
                label
                for label, score, cutoff in zip(self.labels, row, cutoffs, strict=True)
                if score >= cutoff
            ]
        else:
            chosen = [ranked[0].label]
        return Prediction(
            ranked[0].label, ranked[0].score, chosen, ranked[:top_k] if top_k else ranked
        )


def _scorer(
    directory: Path, manifest: Manifest, base_model_path: str, device: DevicePlan | None
) -> Scorer:
    if manifest.strategy in SENTENCE_STRATEGIES:
        return SentenceClassifier.load(
            directory,
            base_model_path=base_model_path,
            labels=manifest.labels,
            multi_label=manifest.multi_label,
            max_length=manifest.max_length,
            device=device or plan_device("cpu"),
        )
    return SequenceClassifier.load(
        directory,
        base_model_path=base_model_path,
        labels=manifest.labels,
        multi_label=manifest.multi_label,
        max_length=manifest.max_length,
    )
