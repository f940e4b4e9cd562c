"""Models of `full` and `lora`: a transformers sequence classifier, with LoRA adapters stored
apart from the base weights and merged into them on load."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel

from app.ml.head import probabilities
from app.ml.loading import load_classifier, load_tokenizer
from app.ml.sentence import parameter_bytes

ADAPTER_CONFIG = "adapter_config.json"


class SequenceClassifier:
    def __init__(self, model: Any, tokenizer: Any, max_length: int) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.multi_label = model.config.problem_type == "multi_label_classification"

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        base_model_path: str,
        labels: list[str],
        multi_label: bool,
        max_length: int,
    ) -> "SequenceClassifier":
        if not (directory / ADAPTER_CONFIG).is_file():
            return cls(load_classifier(str(directory)), load_tokenizer(str(directory)), max_length)
        return cls(
            merged_lora(directory, base_model_path, labels, multi_label=multi_label),
            load_tokenizer(base_model_path),
            max_length,
        )

    def owned_bytes(self) -> int:
        return parameter_bytes(self.model)

    @torch.inference_mode()
    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        encoded = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return probabilities(self.model(**encoded).logits, self.multi_label)


def merged_lora(
    directory: Path, base_model_path: str, labels: list[str], *, multi_label: bool
) -> Any:
    """The base classifier with the adapters of `directory` merged in: a plain transformers
    model that `save_pretrained` writes as a standalone Hugging Face model."""
    base = load_classifier(base_model_path, labels, multi_label=multi_label)
    return PeftModel.from_pretrained(base, str(directory)).merge_and_unload()


def export_merged_lora(
    directory: Path, base_model_path: str, labels: list[str], out: Path, *, multi_label: bool
) -> None:
    merged_lora(directory, base_model_path, labels, multi_label=multi_label).save_pretrained(out)
    load_tokenizer(base_model_path).save_pretrained(out)
