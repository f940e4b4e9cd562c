"""A sentence encoder: token states mean-pooled over the attention mask, then L2-normalised,
the way all-MiniLM-L6-v2 was trained to embed sentences."""

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModel

from app.ml.device import DevicePlan
from app.ml.loading import BaseModelError, load_tokenizer
from app.ml.quantization import int8_model

EMBED_BATCH_SIZE = 128


class SentenceEncoder:
    def __init__(self, model: Any, tokenizer: Any, max_length: int, device: DevicePlan) -> None:
        self.model = model.to(device.device)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.encoded_texts = 0

    @classmethod
    def load_int8(cls, path: str | Path, max_length: int, device: DevicePlan) -> "SentenceEncoder":
        """The encoder with int8 linear layers (CPU only)."""
        encoder = cls.load(path, max_length, device)
        return cls(int8_model(encoder.model), encoder.tokenizer, max_length, device)

    @classmethod
    def load(cls, path: str | Path, max_length: int, device: DevicePlan) -> "SentenceEncoder":
        try:
            model = AutoModel.from_pretrained(str(path), add_pooling_layer=False)
        except (OSError, ValueError) as error:
            raise BaseModelError(f"cannot load an encoder from {path}: {error}") from error
        return cls(model, load_tokenizer(str(path)), max_length, device)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embeddings with gradients, for training the encoder."""
        encoded = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device.device)
        dtype = self.device.autocast_dtype
        with torch.autocast(self.device.device.type, dtype=dtype, enabled=dtype is not None):
            states = self.model(**encoded).last_hidden_state
        self.encoded_texts += len(texts)
        return mean_pool(states.float(), encoded["attention_mask"])

    @torch.inference_mode()
    def embed(self, texts: Sequence[str], batch_size: int = EMBED_BATCH_SIZE) -> torch.Tensor:
        """Embeddings on the CPU, computed in length-sorted batches to cut padding."""
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


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    summed = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(summed, dim=-1)


def parameter_bytes(module: torch.nn.Module) -> int:
    """Bytes held by a module's weights and buffers, int8-quantized weights included (they
    live in the state as packed tensors, not as parameters)."""
    return sum(_bytes(value) for value in module.state_dict(keep_vars=True).values())


def _bytes(value: object) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, tuple | list):
        return sum(_bytes(item) for item in value)
    return 0


EncoderSource = Callable[[Path, int, DevicePlan], SentenceEncoder]
