"""How a sequence classifier turns token states into the features its head reads: the
architecture's own pooler (`cls`: the first token, through BERT's dense + tanh pooler) or the
mean of the token states over the attention mask (`mean`: how sentence encoders such as
all-MiniLM-L6-v2 were trained). Either way the model stays a plain transformers sequence
classifier; `mean` only routes around the pooler."""

from collections.abc import Mapping
from typing import Any

import torch
from peft import PeftModel

from app.ml.arguments import Pooling


def network_of(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (adapters stay injected in it)."""
    return model.get_base_model() if isinstance(model, PeftModel) else model


def supports_mean_pooling(model: Any) -> bool:
    """BERT-style classifiers, whose head is dropout then one linear layer over the pooled
    features."""
    network = network_of(model)
    return isinstance(getattr(network, "dropout", None), torch.nn.Dropout) and hasattr(
        network, "classifier"
    )


def masked_mean(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def pooled_features(model: Any, encoded: Mapping[str, torch.Tensor], pooling: Pooling) -> Any:
    """What the head reads, before its dropout."""
    network = network_of(model)
    outputs = network.base_model(**encoded)
    if pooling == "cls":
        return outputs.pooler_output
    return masked_mean(outputs.last_hidden_state, encoded["attention_mask"])


def pooled_logits(
    model: Any, encoded: Mapping[str, torch.Tensor], pooling: Pooling
) -> torch.Tensor:
    if pooling == "cls":
        logits: torch.Tensor = model(**encoded).logits
        return logits
    network = network_of(model)
    features = pooled_features(model, encoded, pooling)
    head_output: torch.Tensor = network.classifier(network.dropout(features))
    return head_output


def head_of(model: Any) -> torch.nn.Linear:
    """The linear layer that computes the logits: BERT's `classifier`, or under PEFT the
    trained copy of it."""
    head = network_of(model).classifier
    copies = getattr(head, "modules_to_save", None)
    if copies is not None:
        head = copies[head.active_adapters[0]]
    linears = [module for module in head.modules() if isinstance(module, torch.nn.Linear)]
    return linears[-1]
