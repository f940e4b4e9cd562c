"""Per-strategy hyperparameters as the API accepts them. Every field is optional: an omitted
one takes the default of the strategy's arguments dataclass in `app.ml.arguments`, and the
job shows the values it actually used."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Strategy = Literal["full", "frozen", "lora", "zero_shot", "few_shot"]
RequestedStrategy = Literal["full", "frozen", "lora", "zero_shot", "few_shot", "auto"]


class _Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_length: int | None = Field(default=None, ge=8, le=512, description="Tokens per text.")


class _Trained(_Hyperparameters):
    epochs: int | None = Field(default=None, ge=1, le=1000)
    batch_size: int | None = Field(default=None, ge=1, le=1024)
    learning_rate: float | None = Field(default=None, gt=0, le=1)
    weight_decay: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class FullHyperparameters(_Trained):
    """`full`; defaults: epochs 3, batch_size 32, learning_rate 5e-5, max_length 128."""

    epochs: int | None = Field(default=None, ge=1, le=100)
    warmup_ratio: float | None = Field(default=None, ge=0, lt=1)
    early_stopping_patience: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Stop after this many epochs without a better validation score and keep "
        "the best epoch's weights; unset trains every epoch and keeps the last.",
    )
    early_stopping_metric: Literal["macro_f1", "accuracy", "loss"] | None = None


class LoraHyperparameters(FullHyperparameters):
    """`lora`; as `full` (learning_rate 5e-4) plus r 16, alpha 32, dropout 0.1,
    target_modules ["all-linear"]."""

    r: int | None = Field(default=None, ge=1, le=256)
    alpha: int | None = Field(default=None, ge=1, le=1024)
    dropout: float | None = Field(default=None, ge=0, lt=1)
    target_modules: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description='Names of the linear modules that get adapters (e.g. ["query", "value"]), '
        'or ["all-linear"].',
    )


class FrozenHyperparameters(_Trained):
    """`frozen`: fitting the head; defaults: epochs 40, batch_size 64, learning_rate 1e-3."""


class FewShotHyperparameters(FrozenHyperparameters):
    """`few_shot`; the head as `frozen`, plus the contrastive adaptation of the encoder:
    contrastive_epochs 8, contrastive_batch_size 32, contrastive_learning_rate 2e-5,
    temperature 0.05, use_label_descriptions true."""

    contrastive_epochs: int | None = Field(default=None, ge=1, le=100)
    contrastive_batch_size: int | None = Field(default=None, ge=4, le=512)
    contrastive_learning_rate: float | None = Field(default=None, gt=0, le=1)
    temperature: float | None = Field(default=None, gt=0, le=10)
    use_label_descriptions: bool | None = None


class ZeroShotHyperparameters(_Hyperparameters):
    """`zero_shot`; defaults: scale 20, similarity_threshold 0.3 (multi-label only)."""

    scale: float | None = Field(default=None, gt=0, le=1000)
    similarity_threshold: float | None = Field(default=None, ge=-1, le=1)


HYPERPARAMETERS: dict[str, type[_Hyperparameters]] = {
    "full": FullHyperparameters,
    "lora": LoraHyperparameters,
    "frozen": FrozenHyperparameters,
    "few_shot": FewShotHyperparameters,
    "zero_shot": ZeroShotHyperparameters,
}
