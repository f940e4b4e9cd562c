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
