from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.schemas.common import NO_NUL

MetadataValue = (
    Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] | int | float | bool | None
)


class FullHyperparameters(BaseModel):
    """Hyperparameters of `full` fine-tuning; every one has a default."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=3, ge=1, le=100)
    batch_size: int = Field(default=32, ge=1, le=1024)
    learning_rate: float = Field(default=5e-5, gt=0, le=1)
    max_length: int = Field(default=128, ge=8, le=512)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0, le=1)
    seed: int = Field(default=42, ge=0, le=2**32 - 1)
    early_stopping_patience: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Stop after this many epochs without a better validation score and keep "
        "the best epoch's weights; unset trains every epoch and keeps the last.",
    )
    early_stopping_metric: Literal["macro_f1", "accuracy", "loss"] = "macro_f1"


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, max_length=40)
    strategy: Literal["full"] = "full"
    base_model: str | None = Field(default=None, min_length=1, max_length=200)
    hyperparameters: FullHyperparameters = Field(default_factory=FullHyperparameters)
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


class JobError(BaseModel):
    code: str
    message: str


class JobPublic(BaseModel):
    id: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    dataset_id: str | None
    validation_dataset_id: str | None
    validation_split: float | None
    strategy: str
    base_model: str
    hyperparameters: dict[str, Any]
    metadata: dict[str, MetadataValue]
    progress: JobProgress
    metrics: dict[str, float]
    error: JobError | None
    model_id: str | None
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
