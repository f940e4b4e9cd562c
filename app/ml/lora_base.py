"""One base classifier per base model and device that carries the LoRA adapters of many
`lora` models unmerged: the base weights are in memory once, each model adds only its adapter
and its head, and a forward pass selects the adapter and head of the model it serves."""

import copy
import threading
import uuid
import warnings
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification

from app.ml.arguments import Pooling
from app.ml.device import DevicePlan
from app.ml.loading import load_classifier
from app.ml.pooling import pooled_logits
from app.ml.sentence import parameter_bytes

ADAPTER_WEIGHTS = "adapter_model.safetensors"
HEAD_NAMES = ("classifier", "score")
PEFT_PREFIX = "base_model.model."


class SharedLoraBase:
    def __init__(self, base_model_path: str, device: DevicePlan) -> None:
        self.device = device
        self.model = load_classifier(base_model_path, ["unused"]).to(device.device).eval()
        self.head_name = next(name for name in HEAD_NAMES if hasattr(self.model, name))
        self._peft: Any = None
        self._lock = threading.Lock()
        self._detached: list[str] = []

    def attach(self, directory: Path, num_labels: int, pooling: Pooling = "cls") -> "LoraAdapter":
        """Load the adapter and head saved in `directory` onto this base."""
        config = LoraConfig.from_pretrained(str(directory))
        config.modules_to_save = None
        config.task_type = None
        config.inference_mode = True
        head_prefix = f"{PEFT_PREFIX}{self.head_name}."
        weights = load_file(directory / ADAPTER_WEIGHTS)
        head_state = {
            name.removeprefix(head_prefix): tensor
            for name, tensor in weights.items()
            if name.startswith(head_prefix)
        }
        adapter_state = {
            name: tensor for name, tensor in weights.items() if not name.startswith(head_prefix)
        }
        name = f"model_{uuid.uuid4().hex}"
        with self._lock:
            self._drop_detached()
            if self._peft is None:
                self._peft = get_peft_model(self.model, config, adapter_name=name)
            else:
                self._peft.add_adapter(name, config)
            result: Any = set_peft_model_state_dict(self._peft, adapter_state, adapter_name=name)
            self._peft.eval()
        unexpected = [key for key in result.unexpected_keys if "lora_" in key]
        if unexpected:
            self._detached.append(name)
            raise ValueError(f"adapter weights that fit no layer of the base: {unexpected[:3]}")
        head = self._head(num_labels, head_state)
        adapter = LoraAdapter(self, name, head, adapter_state, pooling)
        weakref.finalize(adapter, self._detached.append, name)
        return adapter

    @torch.inference_mode()
    def logits(self, adapter: "LoraAdapter", encoded: Mapping[str, torch.Tensor]) -> torch.Tensor:
        with self._lock:
            self._drop_detached()
            self._peft.set_adapter(adapter.name)
            setattr(self.model, self.head_name, adapter.head)
            return pooled_logits(self._peft, encoded, adapter.pooling)

    def resident_bytes(self) -> int:
        """The base weights alone; the adapters count as their models' own."""
        lora_bytes: int = sum(
            tensor.numel() * tensor.element_size()
            for name, tensor in self.model.named_parameters()
            if "lora_" in name
        )
        return parameter_bytes(self.model) - lora_bytes

    @property
    def adapters(self) -> int:
        with self._lock:
            self._drop_detached()
            return 0 if self._peft is None else len(self._peft.peft_config)

    def _head(self, num_labels: int, state: Mapping[str, torch.Tensor]) -> torch.nn.Module:
        """The base architecture's head for `num_labels`, holding the model's trained weights."""
        config = copy.deepcopy(self.model.config)
        config.num_labels = num_labels
        with torch.device("meta"):
            skeleton = AutoModelForSequenceClassification.from_config(config)
        head: torch.nn.Module = getattr(skeleton, self.head_name).to_empty(
            device=self.device.device
        )
        head.load_state_dict(state)
        return head.eval()

    def _drop_detached(self) -> None:
        """Delete the adapters of models no longer referenced (called under the lock)."""
        while self._detached:
            name = self._detached.pop()
            if self._peft is not None and name in self._peft.peft_config:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._peft.delete_adapter(name)


class LoraAdapter:
    """A model's adapter on a shared base; deleted from the base once nothing refers to it."""

    def __init__(
        self,
        base: SharedLoraBase,
        name: str,
        head: torch.nn.Module,
        adapter_state: Mapping[str, torch.Tensor],
        pooling: Pooling,
    ) -> None:
        self.base = base
        self.name = name
        self.head = head
        self.pooling = pooling
        self.size_bytes = parameter_bytes(head) + sum(
            tensor.numel() * tensor.element_size() for tensor in adapter_state.values()
        )

    def logits(self, encoded: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.base.logits(self, encoded)


LoraBaseSource = Callable[[str, DevicePlan], SharedLoraBase]
