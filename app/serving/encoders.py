"""Base models shared by every model on the same base: one copy of the weights per base model
and device, however many `frozen` and `zero_shot` models read it as a sentence encoder and
however many `lora` models attach their adapters to it."""

import threading
from pathlib import Path
from typing import Any

from app.ml.device import DevicePlan
from app.ml.lora_base import SharedLoraBase
from app.ml.runtime import Backend, Runtime
from app.ml.sentence import SentenceEncoder, parameter_bytes


class SharedEncoders:
    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str, Backend], SentenceEncoder] = {}
        self._lora_bases: dict[tuple[str, str], SharedLoraBase] = {}
        self._lock = threading.Lock()

    def __call__(
        self, path: Path, max_length: int, device: DevicePlan, runtime: Runtime
    ) -> SentenceEncoder:
        """An encoder at `max_length` over the one shared copy of the weights at `path` for
        the runtime's backend (torch weights, or one ONNX Runtime session)."""
        key = (str(path), str(device.device), runtime.backend)
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = SentenceEncoder.served(path, max_length, device, runtime)
            shared = self._loaded[key]
        return shared.at(max_length)

    def lora_base(self, path: str, device: DevicePlan) -> SharedLoraBase:
        """The one base classifier at `path` that `lora` models attach their adapters to."""
        key = (str(path), str(device.device))
        with self._lock:
            if key not in self._lora_bases:
                self._lora_bases[key] = SharedLoraBase(path, device)
            return self._lora_bases[key]

    def resident_bytes(self) -> int:
        with self._lock:
            models: list[Any] = [encoder.model for encoder in self._loaded.values()]
            lora_bases = list(self._lora_bases.values())
        encoder_bytes = sum(parameter_bytes(model) for model in models)
        return encoder_bytes + sum(base.resident_bytes() for base in lora_bases)

    @property
    def encoders_loaded(self) -> int:
        return len(self._loaded)

    @property
    def lora_bases_loaded(self) -> int:
        return len(self._lora_bases)
