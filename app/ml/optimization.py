"""Learning rates per parameter group for fine-tuning through an encoder: the head at its own
rate, each encoder layer below the top at `layer_decay` times the rate of the layer above
(layer-wise learning-rate decay, Howard & Ruder 2018; Sun et al. 2019), and no weight decay on
biases and LayerNorm weights."""

import re
from collections import defaultdict
from typing import Any

import torch

HEAD_NAMES = ("classifier", "score")
_LAYER = re.compile(r"\.layer\.(\d+)\.")


def parameter_groups(
    model: Any,
    *,
    learning_rate: float,
    head_learning_rate: float,
    layer_decay: float,
    weight_decay: float,
) -> list[dict[str, Any]]:
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    layers = 1 + max((_layer_index(name) or 0 for name, _ in named), default=0)
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = defaultdict(list)
    for name, parameter in named:
        rate = _rate(name, layers, learning_rate, head_learning_rate, layer_decay)
        decay = 0.0 if parameter.ndim < 2 or "LayerNorm" in name else weight_decay
        groups[(rate, decay)].append(parameter)
    return [
        {"params": params, "lr": rate, "weight_decay": decay}
        for (rate, decay), params in groups.items()
    ]


def _rate(name: str, layers: int, base: float, head: float, layer_decay: float) -> float:
    if any(f"{part}." in name for part in HEAD_NAMES):
        return head
    if "embeddings" in name:
        return base * layer_decay**layers
    index = _layer_index(name)
    return base if index is None else base * layer_decay ** (layers - 1 - index)


def _layer_index(name: str) -> int | None:
    found = _LAYER.search(name)
    return int(found.group(1)) if found else None
