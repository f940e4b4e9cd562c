"""One documented arguments dataclass per strategy. Each field is a hyperparameter: its default,
what it controls and its bounds, from which the API's hyperparameter schemas are built."""

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

HYPERPARAMETER = "hyperparameter"

Pooling = Literal["mean", "cls"]


@dataclass(frozen=True)
class Bounds:
    """What the API accepts for a hyperparameter (pydantic's `Field` constraints by name)."""

    description: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    min_length: int | None = None
    max_length: int | None = None

    def constraints(self) -> dict[str, Any]:
        given = asdict(self).items()
        return {name: value for name, value in given if value is not None and name != "description"}


def hyperparameter(
    default: Any,
    description: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
) -> Any:
    """A dataclass field that the API exposes as a hyperparameter."""
    bounds = Bounds(description, ge, gt, le, lt, min_length, max_length)
    return field(default=default, metadata={HYPERPARAMETER: bounds})


def read_layers(default: int) -> Any:
    """The `feature_layers` hyperparameter of a strategy whose head reads `default` layers."""
    return hyperparameter(
        default,
        "How many of the encoder's last layers the head reads: each layer's token states "
        "mean-pooled and normalised, side by side; 1 reads the sentence embedding alone. An "
        "encoder with fewer layers gives all it has.",
        ge=1,
        le=48,
    )


@dataclass(frozen=True)
class StrategyArguments:
    max_length: int = hyperparameter(
        128, "Token limit per text; longer texts are truncated.", ge=8, le=512
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrainedArguments(StrategyArguments):
    """What every strategy that trains on the examples shares."""

    epochs: int = hyperparameter(3, "Passes over the training examples.", ge=1, le=1000)
    batch_size: int = hyperparameter(32, "Examples per optimizer step.", ge=1, le=1024)
    learning_rate: float = hyperparameter(5e-5, "Peak AdamW learning rate.", gt=0, le=1)
    weight_decay: float = hyperparameter(
        0.01, "AdamW weight decay, not applied to biases and LayerNorm weights.", ge=0, le=1
    )
    seed: int = hyperparameter(
        42,
        "Seeds the validation split, initialisation, shuffling and dropout for repeatable runs.",
        ge=0,
        le=2**32 - 1,
    )
    calibrate: bool = hyperparameter(
        True,
        "Fit a temperature on the validation examples so that single-label scores match "
        "accuracy (temperature scaling); the best label never changes.",
    )


@dataclass(frozen=True)
class FullFineTuneArguments(TrainedArguments):
    """`full`: every encoder parameter plus a new classification head is fine-tuned."""

    epochs: int = hyperparameter(
        3,
        "Most passes over the training examples; by default enough for about 1,500 optimizer "
        "steps (3 to 30 epochs), cut short by early stopping.",
        ge=1,
        le=100,
    )
    learning_rate: float = hyperparameter(
        5e-5,
        "Peak AdamW learning rate, reached after warm-up, then decayed linearly.",
        gt=0,
        le=1,
    )
    warmup_ratio: float = hyperparameter(
        0.1, "Fraction of all steps spent warming the learning rate up from zero.", ge=0, lt=1
    )
    early_stopping_patience: int | None = hyperparameter(
        2,
        "Stop after this many epochs without a better validation score (epochs of the "
        "learning rate's warm-up do not count) and keep the best epoch's weights; null trains "
        "every epoch and keeps the last.",
        ge=1,
        le=100,
    )
    early_stopping_metric: Literal["macro_f1", "accuracy", "loss"] = hyperparameter(
        "macro_f1",
        "The validation score that decides early stopping; ties go to the lower validation loss.",
    )
    pooling: Pooling = hyperparameter(
        "mean",
        "What the head reads: the mean of the token states (how sentence encoders such as "
        "all-MiniLM-L6-v2 were trained) or the first token through the model's pooler.",
    )
    head_learning_rate_factor: float = hyperparameter(
        20.0,
        "The head's learning rate as a multiple of learning_rate (the head starts from "
        "random weights, the encoder from trained ones).",
        gt=0,
        le=1000,
    )
    layer_decay: float = hyperparameter(
        1.0,
        "Each encoder layer learns at this multiple of the rate of the layer above it "
        "(layer-wise learning-rate decay); 1 gives every layer the same rate.",
        gt=0,
        le=1,
    )
    label_smoothing: float = hyperparameter(
        0.0, "Share of each single-label target spread over the other labels.", ge=0, lt=1
    )
    linear_probe: bool = hyperparameter(
        False,
        "Start the head from a logistic regression on the pre-trained encoder's features "
        "before fine-tuning (linear probing, then fine-tuning).",
    )
    group_by_length: bool = hyperparameter(
        True, "Batch texts of similar token length together, so less of each batch is padding."
    )


@dataclass(frozen=True)
class LoraArguments(FullFineTuneArguments):
    """`lora`: low-rank adapters in the encoder's linear layers plus a new head (PEFT)."""

    learning_rate: float = hyperparameter(
        5e-4,
        "Peak AdamW learning rate, reached after warm-up, then decayed linearly.",
        gt=0,
        le=1,
    )
    head_learning_rate_factor: float = hyperparameter(
        4.0,
        "The head's learning rate as a multiple of learning_rate (the head starts from "
        "random weights, the adapters from zero updates).",
        gt=0,
        le=1000,
    )
    r: int = hyperparameter(16, "Rank of each adapter's update matrices.", ge=1, le=256)
    alpha: int = hyperparameter(
        32, "Scaling numerator; the update is multiplied by alpha / r.", ge=1, le=1024
    )
    dropout: float = hyperparameter(0.1, "Dropout on the adapters' input.", ge=0, lt=1)
    target_modules: tuple[str, ...] = hyperparameter(
        ("all-linear",),
        'Names of the linear modules that get adapters (e.g. ["query", "value"]), or '
        '["all-linear"] for every linear layer of the encoder; the head is trained in full.',
        min_length=1,
        max_length=20,
    )


@dataclass(frozen=True)
class HeadArguments(TrainedArguments):
    """How a head is fitted on fixed sentence embeddings."""

    epochs: int = hyperparameter(
        40,
        "Passes of the head over the embedded examples; by default enough for about 3,000 "
        "optimizer steps (40 to 2,000 epochs: each is cheap on cached embeddings).",
        ge=1,
        le=5000,
    )
    batch_size: int = hyperparameter(64, "Examples per optimizer step.", ge=1, le=1024)
    learning_rate: float = hyperparameter(1e-3, "AdamW learning rate of the head.", gt=0, le=1)
    weight_decay: float = hyperparameter(
        0.01, "AdamW weight decay of the head's weights.", ge=0, le=1
    )
    logistic_regression: bool = hyperparameter(
        True,
        "Also fit logistic regressions (L-BFGS, a few L2 penalties; one per label for "
        "multi-label data) and keep whichever head scores best on the validation examples.",
    )
    feature_layers: int = read_layers(1)


@dataclass(frozen=True)
class FrozenArguments(HeadArguments):
    """`frozen`: the encoder stays as pre-trained; a head is fitted on its cached embeddings,
    keeping the epoch with the best validation score (accuracy, or for multi-label data the
    average precision of every text and label)."""

    hidden_size: int = hyperparameter(
        1024,
        "Width of the head's hidden layer (GELU, with dropout); 0 fits a linear head.",
        ge=0,
        le=8192,
    )
    dropout: float = hyperparameter(
        0.1, "Dropout on the embeddings and on the hidden layer while fitting.", ge=0, lt=1
    )
    feature_layers: int = read_layers(6)


@dataclass(frozen=True)
class FewShotArguments(HeadArguments):
    """`few_shot`: contrastive adaptation of the encoder on a handful of examples, then a head
    as `frozen` fits it."""

    contrastive_epochs: int = hyperparameter(
        8,
        "Passes over the examples while adapting the encoder; every batch pairs examples of "
        "the same label (supervised contrastive loss, as in SetFit).",
        ge=1,
        le=100,
    )
    contrastive_batch_size: int = hyperparameter(
        32, "Texts per contrastive step (pairs of two per label).", ge=4, le=512
    )
    contrastive_learning_rate: float = hyperparameter(
        2e-5, "AdamW learning rate of the encoder.", gt=0, le=1
    )
    temperature: float = hyperparameter(
        0.05, "Softmax temperature of the contrastive loss.", gt=0, le=10
    )
    use_label_descriptions: bool = hyperparameter(
        True,
        "Add each label's description as one more example of it, and start the head from "
        "the descriptions' embeddings.",
    )


@dataclass(frozen=True)
class ZeroShotArguments(StrategyArguments):
    """`zero_shot`: labels are the nearest of their descriptions' embeddings, moved toward
    the texts the job is given."""

    scale: float = hyperparameter(
        20.0,
        "Multiplies cosine similarities into logits (an inverse softmax temperature).",
        gt=0,
        le=1000,
    )
    similarity_threshold: float = hyperparameter(
        0.3,
        "For multi-label models, the cosine similarity at which a label counts as present "
        "before any tuning on labeled data.",
        ge=-1,
        le=1,
    )
    adapt_to_texts: bool = hyperparameter(
        True,
        "Move each label's prototype toward the job's texts that lie nearest it (their labels "
        "unused), starting from the description. Single-label models given at least "
        "4 texts per label.",
    )
    description_weight: float = hyperparameter(
        3.0,
        "How many texts a label's description counts as when its prototype moves toward its texts.",
        gt=0,
        le=10_000,
    )
