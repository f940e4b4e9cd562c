"""A classifier made of a sentence encoder and a linear head: what `frozen`, `few_shot` and
`zero_shot` train and serve. The artifact holds the head, plus the encoder only when the
strategy changed it; otherwise the encoder is the registered base model."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from app.ml.calibration import fit_temperature, scale_linear
from app.ml.data import LabeledExample, encode_targets
from app.ml.device import DevicePlan
from app.ml.head import Head, head_of_state, probabilities
from app.ml.loading import token_lengths
from app.ml.runtime import TORCH, Runtime
from app.ml.sentence import SENTENCE, EncoderSource, Features, SentenceEncoder, parameter_bytes

HEAD_FILE = "head.safetensors"
ENCODER_DIRECTORY = "encoder"
FEATURE_LAYERS = "feature_layers"
"""The head file's metadata key for how many layers it reads; absent, the last alone."""


@dataclass
class SentenceClassifier:
    encoder: SentenceEncoder
    head: Head
    labels: list[str]
    multi_label: bool
    metrics: dict[str, float] = field(default_factory=dict)
    thresholds: list[float] | None = None
    owns_encoder: bool = False
    features: Features = SENTENCE

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        return self.probabilities_of(self.encoder.embed(texts, self.features))

    @property
    def max_length(self) -> int:
        return self.encoder.max_length

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return token_lengths(self.encoder.tokenizer, texts, self.encoder.max_length)

    def owned_bytes(self) -> int:
        """Memory of the weights this model alone holds: the head, and its own encoder."""
        owned = parameter_bytes(self.head)
        return owned + parameter_bytes(self.encoder.model) if self.owns_encoder else owned

    def calibrate(self, examples: Sequence[LabeledExample], features: torch.Tensor) -> float:
        """Fold the temperature that fits these held-out examples into the head."""
        with torch.inference_mode():
            logits = self.head(features)
        targets = encode_targets(examples, self.labels, multi_label=False)
        temperature = fit_temperature(logits, targets)
        scale_linear(self.head.linear, 1 / temperature)
        return temperature

    @torch.inference_mode()
    def probabilities_of(self, features: torch.Tensor) -> torch.Tensor:
        return probabilities(self.head(features), self.multi_label)

    def save(self, directory: Path) -> None:
        state = {name: tensor.contiguous() for name, tensor in self.head.state_dict().items()}
        metadata = {FEATURE_LAYERS: str(self.features.layers)}
        save_file(state, directory / HEAD_FILE, metadata=metadata)
        if self.owns_encoder:
            self.encoder.save(directory / ENCODER_DIRECTORY)

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
        encoders: EncoderSource = SentenceEncoder.served,
        runtime: Runtime = TORCH,
    ) -> "SentenceClassifier":
        """The base encoder comes from `encoders` (which may share it between models); an
        encoder the strategy changed is the model's own. Either runs on `runtime`; the head,
        a few thousand weights, stays in torch."""
        own_encoder = directory / ENCODER_DIRECTORY
        if own_encoder.is_dir():
            encoder = SentenceEncoder.served(own_encoder, max_length, device, runtime)
        else:
            encoder = encoders(Path(base_model_path), max_length, device, runtime)
        state = load_file(directory / HEAD_FILE)
        head = head_of_state(state)
        head.load_state_dict(state)
        return cls(
            encoder,
            head.eval(),
            labels,
            multi_label,
            owns_encoder=own_encoder.is_dir(),
            features=_features_of(directory / HEAD_FILE),
        )


def _features_of(head_file: Path) -> Features:
    with safe_open(head_file, framework="pt") as stored:
        layers = (stored.metadata() or {}).get(FEATURE_LAYERS, "1")
    return Features(int(layers))
