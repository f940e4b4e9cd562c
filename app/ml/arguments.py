"""One documented arguments dataclass per strategy; the API's hyperparameters map onto them."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class FullFineTuneArguments:
    """How `full` fine-tuning updates every encoder parameter plus a new classification head.

    Attributes:
        epochs: Passes over the training examples.
        batch_size: Examples per optimizer step.
        learning_rate: Peak AdamW learning rate, reached after warm-up, then decayed linearly.
        max_length: Token limit per text; longer texts are truncated.
        warmup_ratio: Fraction of all steps spent warming the learning rate up from zero.
        weight_decay: AdamW weight decay, not applied to biases and LayerNorm weights.
        seed: Seeds the head's initialisation, shuffling and dropout for repeatable runs.
        early_stopping_patience: Stop after this many epochs without a better validation
            score and keep the best epoch's weights; None trains every epoch and keeps the last.
        early_stopping_metric: The validation score that decides: macro_f1, accuracy or loss.
    """

    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    seed: int = 42
    early_stopping_patience: int | None = None
    early_stopping_metric: str = "macro_f1"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoraArguments(FullFineTuneArguments):
    """`lora`: low-rank adapters in the encoder's linear layers plus a new head (PEFT).

    Attributes:
        r: Rank of each adapter's update matrices.
        alpha: Scaling numerator; the update is multiplied by alpha / r.
        dropout: Dropout on the adapters' input.
        target_modules: Module names that get adapters, or ["all-linear"] for every linear
            layer of the encoder (the classification head is trained in full either way).
    """

    learning_rate: float = 5e-4
    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    target_modules: tuple[str, ...] = ("all-linear",)


@dataclass(frozen=True)
class HeadArguments:
    """How a linear head is fitted on fixed sentence embeddings (`frozen`, `few_shot`).

    Attributes:
        epochs: Passes over the embedded examples.
        batch_size: Examples per optimizer step.
        learning_rate: AdamW learning rate of the head.
        weight_decay: AdamW weight decay of the head's weights.
        max_length: Token limit per text when embedding.
        seed: Seeds initialisation and shuffling.
    """

    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    max_length: int = 128
    seed: int = 42

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FewShotArguments(HeadArguments):
    """`few_shot`: contrastive adaptation of the encoder on a handful of examples, then a head.

    Attributes:
        contrastive_epochs: Passes over the examples while adapting the encoder; every batch
            pairs examples of the same label (supervised contrastive loss, as in SetFit).
        contrastive_batch_size: Texts per contrastive step (pairs of two per label).
        contrastive_learning_rate: AdamW learning rate of the encoder.
        temperature: Softmax temperature of the contrastive loss.
        use_label_descriptions: Add each label's description as one more example of it, and
            start the head from the descriptions' embeddings.
    """

    contrastive_epochs: int = 8
    contrastive_batch_size: int = 32
    contrastive_learning_rate: float = 2e-5
    temperature: float = 0.05
    use_label_descriptions: bool = True


@dataclass(frozen=True)
class ZeroShotArguments:
    """`zero_shot`: labels are the nearest of their descriptions' embeddings.

    Attributes:
        max_length: Token limit per text when embedding.
        scale: Multiplies cosine similarities into logits (an inverse softmax temperature).
        similarity_threshold: For multi-label models, the cosine similarity at which a label
            counts as present before any tuning on labeled data.
    """

    max_length: int = 128
    scale: float = 20.0
    similarity_threshold: float = 0.3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
