"""Continue training from an earlier `full` or `lora` model: its weights, its head rows for its
labels, and fresh rows for labels it did not have."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file

from app.ml.loading import load_classifier

ADAPTER_WEIGHTS = "adapter_model.safetensors"


@dataclass(frozen=True)
class WarmStart:
    directory: Path
    labels: list[str]

    def labels_for(self, data_labels: Sequence[str]) -> list[str]:
        """The earlier model's labels in their head order, then the new ones sorted."""
        return self.labels + sorted(set(data_labels) - set(self.labels))

    def full_model(self, labels: list[str], *, multi_label: bool) -> Any:
        model = load_classifier(str(self.directory), labels, multi_label=multi_label)
        earlier = _weights(self.directory)
        grown = grown_rows(earlier, model.state_dict(), len(self.labels), len(labels))
        model.load_state_dict(grown, strict=False)
        return model

    def lora_model(self, base_model_path: str, labels: list[str], *, multi_label: bool) -> Any:
        """The earlier adapters (with their own r, alpha and target modules) over the base."""
        config = LoraConfig.from_pretrained(str(self.directory))
        config.inference_mode = False
        base = load_classifier(base_model_path, labels, multi_label=multi_label)
        model = get_peft_model(base, config)
        earlier = load_file(self.directory / ADAPTER_WEIGHTS)
        current = get_peft_model_state_dict(model)
        set_peft_model_state_dict(
            model, grown_rows(earlier, current, len(self.labels), len(labels))
        )
        return model


def grown_rows(
    earlier: Mapping[str, torch.Tensor],
    current: Mapping[str, torch.Tensor],
    earlier_labels: int,
    labels: int,
) -> dict[str, torch.Tensor]:
    """`earlier`'s tensors; one with a row per label keeps its rows and takes `current`'s
    fresh rows for the labels added after them."""
    grown = {}
    for name, tensor in earlier.items():
        target = current.get(name)
        per_label = (
            target is not None
            and labels != earlier_labels
            and tensor.shape[:1] == (earlier_labels,)
            and target.shape[:1] == (labels,)
            and tensor.shape[1:] == target.shape[1:]
        )
        if per_label:
            assert target is not None
            tensor = torch.cat([tensor.to(target.dtype), target[earlier_labels:]])
        grown[name] = tensor
    return grown


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    weights: dict[str, torch.Tensor] = {}
    for path in sorted(directory.glob("model*.safetensors")):
        weights |= load_file(path)
    return weights
