from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from app.ml.artifact import Manifest
from app.ml.batching import token_budget_passes
from app.ml.device import DevicePlan, plan_device
from app.ml.loading import BaseModelError
from app.ml.lora_base import LoraBaseSource
from app.ml.runtime import TORCH, Runtime
from app.ml.sentence import EncoderSource, SentenceEncoder
from app.ml.sentence_classifier import SentenceClassifier
from app.ml.strategies import Scorer, SharedBases, spec_of


@dataclass(frozen=True)
class PassLimits:
    """How large one forward pass may be: texts, and tokens with padding (counted only when
    the texts could reach it). On a CPU, length-sorted passes of 8 to 16 texts run faster than
    larger ones (less padding, for no loss of parallelism: `benchmarks/README.md`); a GPU wants
    large passes."""

    max_texts: int = 16
    max_tokens: int = 64 * 128

    @classmethod
    def for_device(
        cls, device: DevicePlan, max_texts: int | None = None, max_tokens: int | None = None
    ) -> "PassLimits":
        default = cls() if device.device.type == "cpu" else cls(max_texts=128, max_tokens=128 * 128)
        return cls(max_texts or default.max_texts, max_tokens or default.max_tokens)


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
        name: str = "",
        limits: PassLimits | None = None,
    ) -> None:
        self.scorer = scorer
        self.manifest = manifest
        self.limits = limits or PassLimits()
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
        runtime: Runtime = TORCH,
    ) -> "Predictor":
        """`encoders` hands out base encoders and `lora_bases` base classifiers for unmerged
        adapters; shared sources let models on one base share its weights. Without them, each
        model loads its own copy (a `lora` model merged into it). `runtime` says whether the
        forward pass runs in torch or in an ONNX Runtime graph of the model."""
        manifest = Manifest.read(directory)
        spec = spec_of(manifest.strategy)
        base_model_path = (base_models or {}).get(manifest.base_model)
        if base_model_path is None and spec.shares_base:
            raise BaseModelError(
                f"base model {manifest.base_model!r} of this model is not registered here"
            )
        shared = SharedBases(encoders or SentenceEncoder.served, lora_bases)
        device = device or plan_device("cpu")
        scorer = spec.load(directory, manifest, base_model_path or "", device, shared, runtime)
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
        """One row per text, in the order given."""
        rows = torch.empty(len(texts), len(self.labels))
        for chunk in self.passes(texts):
            rows[chunk] = self.scorer.probabilities([texts[index] for index in chunk]).float()
        return rows

    def passes(self, texts: Sequence[str]) -> list[list[int]]:
        """The forward passes that score `texts`: length-sorted, so that short texts are not
        padded to the longest, within `limits`."""
        limits = self.limits
        if len(texts) * self.scorer.max_length <= limits.max_tokens:
            return token_budget_passes([len(text) for text in texts], limits.max_texts)
        lengths = self.scorer.token_lengths(texts)
        return token_budget_passes(lengths, limits.max_texts, limits.max_tokens)

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
        ranking = self.rank(probabilities, top_k, thresholds, abstain_below)
        labels = self.labels
        return [
            Prediction(
                None if abstained else labels[indices[0]],
                scores[0],
                [labels[index] for index in chosen],
                [LabelScore(labels[i], score) for i, score in zip(indices, scores, strict=True)],
                abstained,
            )
            for indices, scores, chosen, abstained in ranking.rows()
        ]

    def rank(
        self,
        probabilities: torch.Tensor,
        top_k: int | None = None,
        thresholds: Mapping[str, float] | None = None,
        abstain_below: float | None = None,
    ) -> "Ranking":
        """Each row's labels best first (ties in label order), cut to `top_k`, and the labels
        assigned: the best one, or none where it scores under `abstain_below`, for a
        single-label model; every label at or above its threshold for a multi-label one."""
        keep = len(self.labels) if top_k is None else min(top_k, len(self.labels))
        ranked, order = probabilities.sort(dim=1, descending=True, stable=True)
        scores: list[list[float]] = ranked[:, :keep].tolist()
        indices: list[list[int]] = order[:, :keep].tolist()
        if self.multi_label:
            cutoffs = torch.tensor(self._cutoffs(thresholds or {}), dtype=torch.float64)
            assigned = probabilities.double() >= cutoffs
            chosen = [row.nonzero().flatten().tolist() for row in assigned]
            return Ranking(indices, scores, chosen, [False] * len(scores))
        abstained = [abstain_below is not None and row[0] < abstain_below for row in scores]
        chosen = [[] if away else [row[0]] for row, away in zip(indices, abstained, strict=True)]
        return Ranking(indices, scores, chosen, abstained)

    def _cutoffs(self, overrides: Mapping[str, float]) -> list[float]:
        return [
            overrides.get(label, default)
            for label, default in zip(self.labels, self.thresholds, strict=True)
        ]


@dataclass(frozen=True)
class Ranking:
    """Per row: label indices best first with their scores, the indices assigned, and whether
    the model abstained."""

    indices: list[list[int]]
    scores: list[list[float]]
    chosen: list[list[int]]
    abstained: list[bool]

    def rows(self) -> "zip[tuple[list[int], list[float], list[int], bool]]":
        return zip(self.indices, self.scores, self.chosen, self.abstained, strict=True)


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
    layer_means = torch.empty(len(texts), encoder.num_layers + 1, encoder.dimension)
    for chunk in first.passes(texts):
        layer_means[chunk] = encoder.layer_means([texts[index] for index in chunk])
    scored = []
    for (predictor, _), rows in zip(requests, layer_means.split(sizes), strict=True):
        scorer = _sentence_scorer(predictor)
        scored.append(scorer.probabilities_of(scorer.features.of(rows)).float())
    return scored


def _sentence_scorer(predictor: Predictor) -> SentenceClassifier:
    scorer = predictor.scorer
    assert isinstance(scorer, SentenceClassifier)
    return scorer
