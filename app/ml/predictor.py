from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from app.ml.artifact import Manifest
from app.ml.loading import load_classifier, load_tokenizer


@dataclass(frozen=True)
class LabelScore:
    label: str
    score: float


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    scores: list[LabelScore]


class Predictor:
    """Serves a saved classifier: texts in, labels with probabilities out."""

    def __init__(self, model: Any, tokenizer: Any, manifest: Manifest, batch_size: int = 64):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.manifest = manifest
        self.batch_size = batch_size
        self.labels = [model.config.id2label[index] for index in range(model.config.num_labels)]

    @classmethod
    def from_pretrained(cls, directory: Path) -> "Predictor":
        manifest = Manifest.read(directory)
        return cls(load_classifier(str(directory)), load_tokenizer(str(directory)), manifest)

    def predict(self, texts: Sequence[str], top_k: int | None = None) -> list[Prediction]:
        probabilities = torch.cat(
            [
                self._probabilities(list(texts[start : start + self.batch_size]))
                for start in range(0, len(texts), self.batch_size)
            ]
        )
        return [self._prediction(row, top_k) for row in probabilities.tolist()]

    @torch.inference_mode()
    def _probabilities(self, texts: list[str]) -> torch.Tensor:
        encoded = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.manifest.max_length,
            return_tensors="pt",
        )
        logits: torch.Tensor = self.model(**encoded).logits
        return logits.float().softmax(dim=-1)

    def _prediction(self, row: list[float], top_k: int | None) -> Prediction:
        ranked = sorted(
            (LabelScore(label, score) for label, score in zip(self.labels, row, strict=True)),
            key=lambda item: item.score,
            reverse=True,
        )
        return Prediction(ranked[0].label, ranked[0].score, ranked[:top_k] if top_k else ranked)
