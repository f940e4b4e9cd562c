"""A sentence encoder: token states mean-pooled over the attention mask, then L2-normalised,
the way all-MiniLM-L6-v2 was trained to embed sentences."""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModel

from app.ml.device import DevicePlan
from app.ml.loading import BaseModelError, load_tokenizer
from app.ml.runtime import OnnxGraph, Runtime

EMBED_BATCH_SIZE = 128


class SentenceEncoder:
    def __init__(self, model: Any, tokenizer: Any, max_length: int, device: DevicePlan) -> None:
        self.model = model.to(device.device)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.encoded_texts = 0

    @classmethod
    def load(cls, path: str | Path, max_length: int, device: DevicePlan) -> "SentenceEncoder":
        return cls(load_encoder_model(path), load_tokenizer(str(path)), max_length, device)

    @classmethod
    def served(
        cls, path: str | Path, max_length: int, device: DevicePlan, runtime: Runtime
    ) -> "SentenceEncoder":
        """The encoder at `path` for serving on `runtime`'s backend."""
        if not runtime.backend.uses_onnx:
            return cls.load(path, max_length, device)
        graph = runtime.graph_cache().graph(
            Path(path),
            runtime.backend,
            lambda: SentenceEmbedding(load_encoder_model(path)),
            device,
        )
        dimension = int(_config_of(path).hidden_size)
        return OnnxSentenceEncoder(graph, load_tokenizer(str(path)), max_length, device, dimension)

    def at(self, max_length: int) -> "SentenceEncoder":
        """This encoder's weights, read at another token limit."""
        return SentenceEncoder(self.model, self.tokenizer, max_length, self.device)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> Any:
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device.device)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embeddings with gradients, for training the encoder."""
        encoded = self.tokenize(texts)
        dtype = self.device.autocast_dtype
        with torch.autocast(self.device.device.type, dtype=dtype, enabled=dtype is not None):
            states = self.model(**encoded).last_hidden_state
        self.encoded_texts += len(texts)
        return mean_pool(states.float(), encoded["attention_mask"])

    @torch.inference_mode()
    def embed(self, texts: Sequence[str], batch_size: int = EMBED_BATCH_SIZE) -> torch.Tensor:
        """Embeddings on the CPU, computed in length-sorted batches to cut padding."""
        if isinstance(self.model, torch.nn.Module) and self.model.training:
            self.model.eval()
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        rows = torch.empty(len(texts), self.dimension)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            rows[chunk] = self.forward([texts[index] for index in chunk]).cpu()
        return rows

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)


class OnnxSentenceEncoder(SentenceEncoder):
    """The same embeddings from an ONNX Runtime graph of the encoder, for serving."""

    def __init__(
        self, graph: OnnxGraph, tokenizer: Any, max_length: int, device: DevicePlan, dimension: int
    ) -> None:
        self.model = graph
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.encoded_texts = 0
        self._dimension = dimension

    def at(self, max_length: int) -> "SentenceEncoder":
        graph: OnnxGraph = self.model
        return OnnxSentenceEncoder(graph, self.tokenizer, max_length, self.device, self._dimension)

    @property
    def dimension(self) -> int:
        return self._dimension

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        self.encoded_texts += len(texts)
        graph: OnnxGraph = self.model
        return graph(self.tokenize(texts))


class SentenceEmbedding(torch.nn.Module):
    """The encoder's token states mean-pooled and normalised: what an ONNX graph exports."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(states, attention_mask)


def load_encoder_model(path: str | Path) -> Any:
    try:
        return AutoModel.from_pretrained(str(path), add_pooling_layer=False)
    except (OSError, ValueError) as error:
        raise BaseModelError(f"cannot load an encoder from {path}: {error}") from error


def _config_of(path: str | Path) -> Any:
    try:
        return AutoConfig.from_pretrained(str(path))
    except (OSError, ValueError) as error:
        raise BaseModelError(f"cannot load an encoder from {path}: {error}") from error


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    summed = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(summed, dim=-1)


def parameter_bytes(module: torch.nn.Module | OnnxGraph) -> int:
    """Bytes held by a module's weights and buffers, or by an ONNX graph's file."""
    if isinstance(module, OnnxGraph):
        return module.size_bytes
    return sum(_bytes(value) for value in module.state_dict(keep_vars=True).values())


def _bytes(value: object) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, tuple | list):
        return sum(_bytes(item) for item in value)
    return 0


EncoderSource = Callable[[Path, int, DevicePlan, Runtime], SentenceEncoder]
"""Hands out the encoder at a path, at a token limit, on a device and backend."""
