"""Forward passes of a sequence classifier over texts: tokenised to the token limit, on the
run's device, under autocast where the device plan asks for it, pooled as the run pools."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from app.ml.arguments import Pooling
from app.ml.device import DevicePlan
from app.ml.loading import token_lengths
from app.ml.pooling import pooled_features, pooled_logits

EVALUATION_BATCH_SIZE = 128


@dataclass(frozen=True)
class Passes:
    tokenizer: Any
    device: DevicePlan
    max_length: int
    pooling: Pooling

    def encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {name: tensor.to(self.device.device) for name, tensor in encoded.items()}

    def autocast(self) -> torch.autocast:
        dtype = self.device.autocast_dtype
        return torch.autocast(self.device.device.type, dtype=dtype, enabled=dtype is not None)

    def logits(self, model: Any, texts: Sequence[str]) -> torch.Tensor:
        """Logits with gradients, in training mode as the model is."""
        encoded = self.encode(texts)
        with self.autocast():
            return pooled_logits(model, encoded, self.pooling)

    @torch.inference_mode()
    def all_logits(self, model: Any, texts: Sequence[str]) -> torch.Tensor:
        """Logits of every text on the CPU, in evaluation mode."""
        model.eval()
        return torch.cat([self.logits(model, batch).float().cpu() for batch in _chunks(texts)])

    @torch.inference_mode()
    def all_features(self, model: Any, texts: Sequence[str]) -> torch.Tensor:
        """What the head reads for every text, on the CPU, in evaluation mode."""
        model.eval()
        rows = []
        for batch in _chunks(texts):
            encoded = self.encode(batch)
            with self.autocast():
                rows.append(pooled_features(model, encoded, self.pooling).float().cpu())
        return torch.cat(rows)

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return token_lengths(self.tokenizer, texts, self.max_length)


def _chunks(texts: Sequence[str]) -> list[Sequence[str]]:
    size = EVALUATION_BATCH_SIZE
    return [texts[start : start + size] for start in range(0, len(texts), size)]
