"""A sentence encoder: token states mean-pooled over the attention mask, then L2-normalised,
the way all-MiniLM-L6-v2 was trained to embed sentences. A head may read more than the last
layer: `Features` says how many of the last layers' pooled states it reads."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModel

from app.ml.device import DevicePlan
from app.ml.loading import BaseModelError, load_tokenizer
from app.ml.runtime import OnnxGraph, Runtime

EMBED_BATCH_SIZE = 128
LAYER_GRAPH = "layer-means"
"""Where the ONNX graphs that give every layer's pooled states are kept, beside older graphs
of the sentence embedding alone."""


@dataclass(frozen=True)
class Features:
    """What a head reads from the encoder: the mean-pooled token states of each of the last
    `layers` layers, each L2-normalised, concatenated. One layer is the sentence embedding."""

    layers: int = 1

    def of(self, layer_means: torch.Tensor) -> torch.Tensor:
        """`layer_means`: (texts, layers + 1, hidden), the embedding layer first."""
        if self.layers > layer_means.shape[1] - 1:
            raise ValueError(f"the encoder has fewer than {self.layers} layers")
        chosen = layer_means[:, -self.layers :]
        return torch.nn.functional.normalize(chosen, dim=-1).flatten(1)

    def dimension(self, encoder: "SentenceEncoder") -> int:
        return self.layers * encoder.dimension

    def at_most(self, layers: int) -> "Features":
        return Features(min(self.layers, layers))


SENTENCE = Features()


class SentenceEncoder:
    def __init__(self, model: Any, tokenizer: Any, max_length: int, device: DevicePlan) -> None:
        self.model = model.to(device.device)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.encoded_texts = 0

    @classmethod
    def load(cls, path: str | Path, max_length: int, device: DevicePlan) -> "SentenceEncoder":
        return cls(load_encoder_model(path), load_tokenizer(str(path)), max_length, device)

    @classmethod
    def served(
        cls, path: str | Path, max_length: int, device: DevicePlan, runtime: Runtime
    ) -> "SentenceEncoder":
        """The encoder at `path` for serving on `runtime`'s backend."""
        if not runtime.backend.uses_onnx:
            return cls.load(path, max_length, device)
        graph = runtime.graph_cache().graph(
            Path(path),
            runtime.backend,
            lambda: LayerMeans(load_encoder_model(path)),
            device,
            layout=LAYER_GRAPH,
        )
        config = _config_of(path)
        return OnnxSentenceEncoder(
            graph,
            load_tokenizer(str(path)),
            max_length,
            device,
            int(config.hidden_size),
            int(config.num_hidden_layers),
        )

    def at(self, max_length: int) -> "SentenceEncoder":
        """This encoder's weights, read at another token limit."""
        return SentenceEncoder(self.model, self.tokenizer, max_length, self.device)

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    def reading(self, layers: int) -> Features:
        """The features of this encoder's last `layers` layers, or of all it has if fewer."""
        return Features(layers).at_most(self.num_layers)

    def tokenize(self, texts: Sequence[str]) -> Any:
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device.device)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        """Embeddings with gradients, for training the encoder."""
        encoded = self.tokenize(texts)
        dtype = self.device.autocast_dtype
        with torch.autocast(self.device.device.type, dtype=dtype, enabled=dtype is not None):
            states = self.model(**encoded).last_hidden_state
        self.encoded_texts += len(texts)
        return mean_pool(states.float(), encoded["attention_mask"])

    @torch.inference_mode()
    def layer_means(self, texts: Sequence[str]) -> torch.Tensor:
        """Every layer's token states mean-pooled, not normalised: (texts, layers + 1,
        hidden), the embedding layer first; in one pass, on the CPU."""
        if isinstance(self.model, torch.nn.Module) and self.model.training:
            self.model.eval()
        encoded = self.tokenize(texts)
        dtype = self.device.autocast_dtype
        with torch.autocast(self.device.device.type, dtype=dtype, enabled=dtype is not None):
            states = self.model(**encoded, output_hidden_states=True).hidden_states
        self.encoded_texts += len(texts)
        return pooled_layers(states, encoded["attention_mask"]).cpu()

    def embed(
        self,
        texts: Sequence[str],
        features: Features = SENTENCE,
        batch_size: int = EMBED_BATCH_SIZE,
    ) -> torch.Tensor:
        """`features` of each text, computed in length-sorted batches to cut padding."""
        order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
        rows = torch.empty(len(texts), features.dimension(self))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            rows[chunk] = features.of(self.layer_means([texts[index] for index in chunk]))
        return rows

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)


class OnnxSentenceEncoder(SentenceEncoder):
    """The same embeddings from an ONNX Runtime graph of the encoder, for serving."""

    def __init__(
        self,
        graph: OnnxGraph,
        tokenizer: Any,
        max_length: int,
        device: DevicePlan,
        dimension: int,
        num_layers: int,
    ) -> None:
        self.model = graph
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.encoded_texts = 0
        self._dimension = dimension
        self._num_layers = num_layers

    def at(self, max_length: int) -> "SentenceEncoder":
        graph: OnnxGraph = self.model
        return OnnxSentenceEncoder(
            graph, self.tokenizer, max_length, self.device, self._dimension, self._num_layers
        )

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def num_layers(self) -> int:
        return self._num_layers

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        return SENTENCE.of(self.layer_means(texts))

    def layer_means(self, texts: Sequence[str]) -> torch.Tensor:
        self.encoded_texts += len(texts)
        graph: OnnxGraph = self.model
        return graph(self.tokenize(texts))


class LayerMeans(torch.nn.Module):
    """Every layer's token states mean-pooled, as `SentenceEncoder.layer_means` gives them:
    what an ONNX graph of a sentence encoder exports."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.model(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True
        ).hidden_states
        return pooled_layers(states, attention_mask)


def load_encoder_model(path: str | Path) -> Any:
    try:
        return AutoModel.from_pretrained(str(path), add_pooling_layer=False)
    except (OSError, ValueError) as error:
        raise BaseModelError(f"cannot load an encoder from {path}: {error}") from error


def _config_of(path: str | Path) -> Any:
    try:
        return AutoConfig.from_pretrained(str(path))
    except (OSError, ValueError) as error:
        raise BaseModelError(f"cannot load an encoder from {path}: {error}") from error


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(_masked_mean(states, attention_mask), dim=-1)


def pooled_layers(states: Sequence[torch.Tensor], attention_mask: torch.Tensor) -> torch.Tensor:
    return torch.stack([_masked_mean(layer.float(), attention_mask) for layer in states], dim=1)


def _masked_mean(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def parameter_bytes(module: torch.nn.Module | OnnxGraph) -> int:
    """Bytes held by a module's weights and buffers, or by an ONNX graph's file."""
    if isinstance(module, OnnxGraph):
        return module.size_bytes
    return sum(_bytes(value) for value in module.state_dict(keep_vars=True).values())


def _bytes(value: object) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, tuple | list):
        return sum(_bytes(item) for item in value)
    return 0


EncoderSource = Callable[[Path, int, DevicePlan, Runtime], SentenceEncoder]
"""Hands out the encoder at a path, at a token limit, on a device and backend."""
