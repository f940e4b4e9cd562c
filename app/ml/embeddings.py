"""Sentence embeddings of whole datasets, computed once per (dataset, base model, max_length,
features) and kept as safetensors, so that later `frozen` jobs on the same data skip the
encoder."""

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from app.ml.sentence import SENTENCE, Features, SentenceEncoder


class CachedEmbeddings:
    """Looks texts up in the embeddings of the given corpora; embeds anything else afresh.

    `corpora` maps a cache key (naming the dataset, base model and max_length) to the texts of
    that dataset, in a fixed order.
    """

    def __init__(
        self,
        directory: Path,
        encoder: SentenceEncoder,
        corpora: Mapping[str, Sequence[str]],
        features: Features = SENTENCE,
    ) -> None:
        self.directory = directory
        self.encoder = encoder
        self.corpora = corpora
        self.features = features
        self._rows: dict[str, torch.Tensor] | None = None

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        rows = self._load()
        missing = sorted({text for text in texts if text not in rows})
        if missing:
            rows.update(zip(missing, self._embed(missing), strict=True))
        if not texts:
            return torch.empty(0, self.features.dimension(self.encoder))
        return torch.stack([rows[text] for text in texts])

    def _load(self) -> dict[str, torch.Tensor]:
        if self._rows is None:
            self._rows = {}
            for key, texts in self.corpora.items():
                matrix = self._corpus(key, list(texts))
                self._rows.update(zip(texts, matrix, strict=True))
        return self._rows

    def _embed(self, texts: Sequence[str]) -> torch.Tensor:
        return self.encoder.embed(texts, self.features)

    def _corpus(self, key: str, texts: list[str]) -> torch.Tensor:
        path = self.directory / f"{_file_name(self._key(key))}.safetensors"
        digest = _digest(texts)
        if path.is_file():
            with safe_open(path, framework="pt") as stored:
                if stored.metadata().get("digest") == digest:
                    cached: torch.Tensor = stored.get_tensor("embeddings")
                    return cached
        matrix = self._embed(texts)
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".partial")
        save_file({"embeddings": matrix}, staging, metadata={"digest": digest})
        staging.replace(path)
        return matrix

    def _key(self, corpus: str) -> str:
        """The sentence embeddings keep the key they had before a head could read more."""
        layers = self.features.layers
        return corpus if layers == 1 else f"{corpus}:layers={layers}"


def _file_name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _digest(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\x00")
    return digest.hexdigest()
