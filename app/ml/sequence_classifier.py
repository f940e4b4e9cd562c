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
from app.ml.loading import load_classifier, load_tokenizer, save_standalone, token_lengths
from app.ml.lora_base import LoraBaseSource
from app.ml.pooling import pooled_logits
from app.ml.runtime import TORCH, Runtime
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
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        self.logits = logits
        self.device = device
        self.autocast_dtype = autocast_dtype
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.multi_label = multi_label
        self.size_bytes = size_bytes

    @classmethod
    def of_model(
        cls,
        model: Any,
        tokenizer: Any,
        max_length: int,
        pooling: Pooling = "cls",
        autocast_dtype: torch.dtype | None = None,
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
            autocast_dtype=autocast_dtype,
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
        runtime: Runtime = TORCH,
    ) -> "SequenceClassifier":
        """On an ONNX runtime, a `lora` model is served as one graph with its adapters merged
        into the base."""
        is_lora = (directory / ADAPTER_CONFIG).is_file()
        tokenizer = load_tokenizer(base_model_path if is_lora else str(directory))

        def torch_model() -> Any:
            if is_lora:
                return merged_lora(directory, base_model_path, labels, multi_label=multi_label)
            return load_classifier(str(directory))

        if runtime.backend.uses_onnx:
            graph = runtime.graph_cache().graph(
                directory, runtime.backend, lambda: PooledLogits(torch_model(), pooling), device
            )
            return cls(
                graph,
                tokenizer,
                max_length,
                multi_label=multi_label,
                size_bytes=graph.size_bytes,
                device=torch.device("cpu"),
            )
        if not is_lora or lora_bases is None:
            model = torch_model().to(device.device)
            return cls.of_model(model, tokenizer, max_length, pooling, device.autocast_dtype)
        adapter = lora_bases(base_model_path, device).attach(directory, len(labels), pooling)
        return cls(
            adapter.logits,
            tokenizer,
            max_length,
            multi_label=multi_label,
            size_bytes=adapter.size_bytes,
            device=device.device,
            autocast_dtype=device.autocast_dtype,
        )

    def owned_bytes(self) -> int:
        return self.size_bytes

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return token_lengths(self.tokenizer, texts, self.max_length)

    @torch.inference_mode()
    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        encoded = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        dtype = self.autocast_dtype
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
            logits = self.logits(encoded)
        return probabilities(logits.float().cpu(), self.multi_label)


class PooledLogits(torch.nn.Module):
    """A classifier's logits from token ids and mask, pooled as it was trained: what an ONNX
    graph exports."""

    def __init__(self, model: Any, pooling: Pooling) -> None:
        super().__init__()
        self.model = model
        self.pooling = pooling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        encoded = {"input_ids": input_ids, "attention_mask": attention_mask}
        return pooled_logits(self.model, encoded, self.pooling)


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
