"""Base encoders shared by every model on the same base: one copy of the weights per base
model and device, however many `frozen` and `zero_shot` models read it."""

import threading
from pathlib import Path
from typing import Any

from app.ml.device import DevicePlan
from app.ml.sentence import SentenceEncoder, parameter_bytes


class SharedEncoders:
    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str], SentenceEncoder] = {}
        self._lock = threading.Lock()

    def __call__(self, path: Path, max_length: int, device: DevicePlan) -> SentenceEncoder:
        """An encoder at `max_length` over the one shared copy of the weights at `path`."""
        key = (str(path), str(device.device))
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = SentenceEncoder.load(path, max_length, device)
            shared = self._loaded[key]
        return SentenceEncoder(shared.model, shared.tokenizer, max_length, device)

    def resident_bytes(self) -> int:
        with self._lock:
            models: list[Any] = [encoder.model for encoder in self._loaded.values()]
        return sum(parameter_bytes(model) for model in models)

    @property
    def loaded(self) -> int:
        """How many base encoders are in memory."""
        return len(self._loaded)
