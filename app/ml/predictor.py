from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from app.ml.artifact import Manifest
from app.ml.device import DevicePlan, plan_device
from app.ml.loading import BaseModelError
from app.ml.lora_base import LoraBaseSource
from app.ml.sentence import EncoderSource, SentenceEncoder
from app.ml.sentence_classifier import SentenceClassifier
from app.ml.strategies import Scorer, SharedBases, spec_of


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


@dataclass(frozen=True)
class Prediction:
    """The best label and its score; `labels` are all labels the model assigns: the best one
    for single-label models, every label at or above its threshold for multi-label models.
    A single-label model abstains (no label) when the best score is under its threshold."""

    label: str | None
    score: float
    labels: list[str]
    scores: list[LabelScore]
    abstained: bool = False


class Predictor:
    """Serves a saved classifier of any strategy: texts in, labels with probabilities out."""

    def __init__(
        self,
        scorer: Scorer,
        manifest: Manifest,
        batch_size: int = 64,
        name: str = "",
    ) -> None:
        self.scorer = scorer
        self.manifest = manifest
        self.batch_size = batch_size
        self.name = name
        self.labels = manifest.labels
        self.thresholds = manifest.thresholds or [0.5] * len(manifest.labels)
        self.size_bytes = scorer.owned_bytes()

    @classmethod
    def from_pretrained(
        cls,
        directory: Path,
        base_models: Mapping[str, str] | None = None,
        device: DevicePlan | None = None,
        encoders: EncoderSource | None = None,
        lora_bases: LoraBaseSource | None = None,
        int8: bool = False,
    ) -> "Predictor":
        """`encoders` hands out base encoders and `lora_bases` base classifiers for unmerged
        adapters; shared sources let models on one base share its weights. Without them, each
        model loads its own copy (a `lora` model merged into it). `int8` serves the model with
        int8-quantized linear layers (CPU only); `encoders` must then hand out int8 encoders."""
        manifest = Manifest.read(directory)
        spec = spec_of(manifest.strategy)
        base_model_path = (base_models or {}).get(manifest.base_model)
        if base_model_path is None and spec.shares_base:
            raise BaseModelError(
                f"base model {manifest.base_model!r} of this model is not registered here"
            )
        shared = SharedBases(
            encoders or (SentenceEncoder.load_int8 if int8 else SentenceEncoder.load), lora_bases
        )
        device = device or plan_device("cpu")
        scorer = spec.load(directory, manifest, base_model_path or "", device, shared, int8)
        return cls(scorer, manifest, name=directory.name)

    @cached_property
    def shared_encoder(self) -> SentenceEncoder | None:
        """The base encoder this model reads without owning it, if any."""
        scorer = self.scorer
        if isinstance(scorer, SentenceClassifier) and not scorer.owns_encoder:
            return scorer.encoder
        return None

    @cached_property
    def batch_group(self) -> str:
        """Predictors of one group can be scored in one forward pass: those reading the same
        shared encoder at the same token limit; any other predictor is a group of its own."""
        encoder = self.shared_encoder
        if encoder is not None:
            return f"encoder:{self.manifest.base_model}:{id(encoder.model)}:{encoder.max_length}"
        return f"model:{self.name}:{id(self)}"

    @property
    def multi_label(self) -> bool:
        return self.manifest.multi_label

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """One row per text, in the order given; computed in length-sorted chunks of
        `batch_size` so that short texts are not padded to the longest."""
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        rows = torch.empty(len(texts), len(self.labels))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            rows[chunk] = self.scorer.probabilities([texts[index] for index in chunk]).float()
        return rows

    def predict(
        self,
        texts: Sequence[str],
        top_k: int | None = None,
        thresholds: Mapping[str, float] | None = None,
        abstain_below: float | None = None,
    ) -> list[Prediction]:
        return self.predictions(self.probabilities(texts), top_k, thresholds, abstain_below)

    def predictions(
        self,
        probabilities: torch.Tensor,
        top_k: int | None = None,
        thresholds: Mapping[str, float] | None = None,
        abstain_below: float | None = None,
    ) -> list[Prediction]:
        """`abstain_below`: a single-label model gives no label where its best score is
        lower."""
        cutoffs = self._cutoffs(thresholds or {})
        rows = probabilities.tolist()
        predictions = [self._prediction(row, top_k, cutoffs) for row in rows]
        if abstain_below is None or self.multi_label:
            return predictions
        return [_abstained(p) if p.score < abstain_below else p for p in predictions]

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


def _abstained(prediction: Prediction) -> Prediction:
    return Prediction(None, prediction.score, [], prediction.scores, abstained=True)


def probabilities_together(
    requests: Sequence[tuple[Predictor, Sequence[str]]],
) -> list[torch.Tensor]:
    """Each request's rows, computed in one pass: the requests are of one predictor, or of
    predictors of one `batch_group` whose shared encoder then runs once for all texts."""
    texts = [text for _, request_texts in requests for text in request_texts]
    first = requests[0][0]
    sizes = [len(request_texts) for _, request_texts in requests]
    encoder = first.shared_encoder
    if encoder is None or all(predictor is first for predictor, _ in requests):
        return list(first.probabilities(texts).split(sizes))
    features = encoder.embed(texts).split(sizes)
    return [
        _sentence_scorer(predictor).probabilities_of(rows).float()
        for (predictor, _), rows in zip(requests, features, strict=True)
    ]


def _sentence_scorer(predictor: Predictor) -> SentenceClassifier:
    scorer = predictor.scorer
    assert isinstance(scorer, SentenceClassifier)
    return scorer
