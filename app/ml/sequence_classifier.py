"""Models of `full` and `lora`: a transformers sequence classifier. LoRA adapters are stored
apart from the base weights; on load they are merged into a copy of the base, or, given a
shared base, attached to it unmerged so that many models hold one copy of the base."""

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel

from app.ml.arguments import Pooling
from app.ml.device import DevicePlan
from app.ml.head import probabilities
from app.ml.loading import load_classifier, load_tokenizer, save_standalone
from app.ml.lora_base import LoraBaseSource
from app.ml.pooling import pooled_logits
from app.ml.quantization import int8_model
from app.ml.sentence import parameter_bytes

ADAPTER_CONFIG = "adapter_config.json"

Logits = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


class SequenceClassifier:
    def __init__(
        self,
        logits: Logits,
        tokenizer: Any,
        max_length: int,
        *,
        multi_label: bool,
        size_bytes: int,
        device: torch.device,
    ) -> None:
        self.logits = logits
        self.device = device
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.multi_label = multi_label
        self.size_bytes = size_bytes

    @classmethod
    def of_model(
        cls, model: Any, tokenizer: Any, max_length: int, pooling: Pooling = "cls"
    ) -> "SequenceClassifier":
        model.eval()
        multi_label = model.config.problem_type == "multi_label_classification"

        def logits(encoded: Mapping[str, torch.Tensor]) -> torch.Tensor:
            return pooled_logits(model, encoded, pooling)

        return cls(
            logits,
            tokenizer,
            max_length,
            multi_label=multi_label,
            size_bytes=parameter_bytes(model),
            device=next(model.parameters()).device,
        )

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        base_model_path: str,
        labels: list[str],
        multi_label: bool,
        max_length: int,
        device: DevicePlan,
        pooling: Pooling = "cls",
        lora_bases: LoraBaseSource | None = None,
        int8: bool = False,
    ) -> "SequenceClassifier":
        """An int8 `lora` model is merged into its own copy of the base, then quantized."""
        finish = int8_model if int8 else _on(device)
        if not (directory / ADAPTER_CONFIG).is_file():
            model = finish(load_classifier(str(directory)))
            return cls.of_model(model, load_tokenizer(str(directory)), max_length, pooling)
        tokenizer = load_tokenizer(base_model_path)
        if lora_bases is None or int8:
            merged = merged_lora(directory, base_model_path, labels, multi_label=multi_label)
            return cls.of_model(finish(merged), tokenizer, max_length, pooling)
        adapter = lora_bases(base_model_path, device).attach(directory, len(labels), pooling)
        return cls(
            adapter.logits,
            tokenizer,
            max_length,
            multi_label=multi_label,
            size_bytes=adapter.size_bytes,
            device=device.device,
        )

    def owned_bytes(self) -> int:
        return self.size_bytes

    @torch.inference_mode()
    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        encoded = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        return probabilities(self.logits(encoded).cpu(), self.multi_label)


def _on(device: DevicePlan) -> Callable[[Any], Any]:
    return lambda model: model.to(device.device)


def merged_lora(
    directory: Path, base_model_path: str, labels: list[str], *, multi_label: bool
) -> Any:
    """The base classifier with the adapters of `directory` merged in: a plain transformers
    model that `save_pretrained` writes as a standalone Hugging Face model."""
    base = load_classifier(base_model_path, labels, multi_label=multi_label)
    return PeftModel.from_pretrained(base, str(directory)).merge_and_unload()


def export_merged_lora(
    directory: Path,
    base_model_path: str,
    labels: list[str],
    out: Path,
    *,
    multi_label: bool,
    pooling: Pooling,
) -> None:
    merged = merged_lora(directory, base_model_path, labels, multi_label=multi_label)
    save_standalone(merged, load_tokenizer(base_model_path), labels, pooling, out)
