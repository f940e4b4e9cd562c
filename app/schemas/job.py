from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.ml.strategies import Strategy
from app.schemas.common import NO_NUL
from app.schemas.hyperparameters import RequestedStrategy

MetadataValue = (
    Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] | int | float | bool | None
)


LabelDescription = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]


class SearchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trials: int = Field(ge=1, le=100, description="How many hyperparameter settings to try.")
    budget_seconds: int | None = Field(
        default=None,
        ge=10,
        le=7 * 24 * 3600,
        description="Start no trial after this many seconds of searching. Default: no limit.",
    )


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="The labeled training data; optional only for `zero_shot`, where a "
        "dataset serves for evaluation alone.",
    )
    strategy: RequestedStrategy = Field(
        default=Strategy.full,
        description="How the encoder is adapted; `auto` measures the strategies that fit the "
        "dataset within `budget_seconds` and runs the best, and the job says which and why.",
    )
    budget: Literal["low", "standard", "high"] = Field(
        default="standard",
        description="How long `auto` may spend, as a preset of `budget_seconds`: low 300, "
        "standard 1800, high 7200. Default: standard.",
    )
    budget_seconds: int | None = Field(
        default=None,
        ge=10,
        le=7 * 24 * 3600,
        description="How many seconds of training `auto` may spend, measurements included; "
        "overrides `budget`. `frozen` always runs, even past it. Default: the `budget` preset.",
    )
    base_model: str | None = Field(default=None, min_length=1, max_length=200)
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The strategy's hyperparameters (see the Full/Lora/Frozen/FewShot/ZeroShot "
        "Hyperparameters schemas); omitted ones take the strategy's defaults.",
    )
    search: SearchCreate | None = Field(
        default=None,
        description="Search the strategy's important hyperparameters (Optuna, TPE, trials "
        "pruned on their per-epoch validation scores) and publish the best trial's model; the "
        "given `hyperparameters` stay fixed. For `full`, `lora`, `frozen` and `few_shot`.",
    )
    label_descriptions: dict[str, LabelDescription] | None = Field(
        default=None,
        max_length=10_000,
        description="A text per label for `zero_shot` and `few_shot`; a label without one is "
        "described by its name with underscores as spaces.",
    )
    init_from_model: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Continue training this `full` or `lora` model of the team instead of "
        "starting from the base model. The dataset must carry all its labels; labels it lacks "
        "get fresh head rows. LoRA continues with the model's own adapter settings.",
    )
    validation_split: float | None = Field(default=None, gt=0, le=0.5)
    validation_dataset_id: str | None = Field(default=None, min_length=1, max_length=40)
    metadata: dict[str, MetadataValue] = Field(default_factory=dict, max_length=50)
    max_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="How many times the job may start before a lost worker or crash fails it.",
    )

    @model_validator(mode="after")
    def _one_validation_source(self) -> "JobCreate":
        if self.validation_split is not None and self.validation_dataset_id is not None:
            raise ValueError("give validation_split or validation_dataset_id, not both")
        return self


class JobProgress(BaseModel):
    step: int | None = None
    total_steps: int | None = None
    epoch: int | None = None
    epochs: int | None = None
    fraction: float | None = None
    loss: float | None = None
    eta_seconds: int | None = None


class AutoTrial(BaseModel):
    strategy: Strategy
    outcome: Literal["complete", "raced", "over budget"] = Field(
        description="`complete`: trained to the end; `raced`: stopped after its first epoch, "
        "behind another run; `over budget`: stopped when its pace projected past the budget."
    )
    seconds: float
    validation_score: float | None = Field(
        description="The decision metric on the validation examples (after `epochs_measured` "
        "epochs for a raced run)."
    )
    projected_seconds: float | None = Field(
        description="The whole run's length, projected from its first steps or epoch."
    )
    epochs_measured: int | None
    validation_loss: float | None = Field(
        default=None, description="Log-loss on the validation examples; it breaks ties."
    )


class AutoDecision(BaseModel):
    """What `auto` measured, what it projected and why the winner won."""

    budget_seconds: float
    metric: str = Field(description="`accuracy`, or `micro_f1` for multi-label data.")
    trials: list[AutoTrial]
    finishing: Strategy | None = Field(description="The raced run chosen to finish.")
    chosen: Strategy | None = Field(description="The run whose model the job publishes.")
    reason: str


class SearchTrial(BaseModel):
    number: int
    params: dict[str, Any]
    state: Literal["complete", "pruned"]
    seconds: float
    validation_score: float | None = Field(
        description="`accuracy` (`micro_f1` for multi-label data) on the validation examples; "
        "for a pruned trial, at its last epoch."
    )
    epochs: int | None


class SearchPublic(BaseModel):
    trials: int
    budget_seconds: int | None
    given: dict[str, Any] = Field(description="The hyperparameters the search kept fixed.")
    results: list[SearchTrial]
    best_trial: int | None


class JobError(BaseModel):
    code: str
    message: str


class JobPublic(BaseModel):
    id: str
    kind: Literal["train", "evaluate", "accelerate"] = Field(
        description="`train` makes a model; `evaluate` and `accelerate` score the model named "
        "by `model_id` (POST /v1/models/{id}/evaluate, PUT /v1/models/{id}/acceleration)."
    )
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    dataset_id: str | None
    validation_dataset_id: str | None
    validation_split: float | None
    strategy: Strategy
    requested_strategy: str
    strategy_reason: str | None
    init_from_model_id: str | None = None
    budget: str
    budget_seconds: int | None = None
    auto: AutoDecision | None = None
    search: SearchPublic | None = None
    base_model: str
    hyperparameters: dict[str, Any]
    label_descriptions: dict[str, str] | None
    metadata: dict[str, MetadataValue]
    progress: JobProgress
    metrics: dict[str, float]
    error: JobError | None
    model_id: str | None = Field(
        description="The model a `train` job made, or the model an `evaluate` or `accelerate` "
        "job scores."
    )
    request: dict[str, Any] | None = Field(
        default=None,
        description="What an `accelerate` job was asked: `method`, `max_accuracy_drop`.",
    )
    result: dict[str, Any] | None = Field(
        default=None,
        description="What a scoring job found: an `evaluate` job's `evaluation_id`; an "
        "`accelerate` job's measurement (both accuracies, the change, agreement, speed).",
    )
    attempt: int
    max_attempts: int
    device: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cancel_requested_at: datetime | None


class JobsPublic(BaseModel):
    data: list[JobPublic]
    has_more: bool


class JobEventPublic(BaseModel):
    sequence: int = Field(description="Increases with every event; pass it as `after`.")
    type: Literal["state", "metrics", "info", "warning", "error"]
    message: str
    data: dict[str, Any]
    created_at: datetime


class JobEventsPublic(BaseModel):
    data: list[JobEventPublic]
    has_more: bool
