from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.ml.strategies import Strategy
from app.schemas.alias import ALIAS_NAME_PATTERN
from app.schemas.common import Name
from app.schemas.dataset import ExampleIn
from app.schemas.hyperparameters import RequestedStrategy
from app.schemas.job import LabelDescription

GateMetric = Literal["macro_f1", "micro_f1", "accuracy"]


class TriggerJob(BaseModel):
    """The job each firing submits, as in POST /v1/jobs without the dataset."""

    model_config = ConfigDict(extra="forbid")

    strategy: RequestedStrategy = Strategy.full
    budget: Literal["low", "standard", "high"] = "standard"
    budget_seconds: int | None = Field(default=None, ge=10, le=7 * 24 * 3600)
    base_model: str | None = Field(default=None, min_length=1, max_length=200)
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    label_descriptions: dict[str, LabelDescription] | None = Field(default=None, max_length=10_000)
    validation_split: float | None = Field(default=None, gt=0, le=0.5)


class Gate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: GateMetric = "macro_f1"
    min_delta: float = Field(
        default=0.0,
        ge=-1,
        le=1,
        description="The candidate must score at least this much above the alias's model.",
    )
    eval_dataset_id: str = Field(min_length=1, max_length=40)


class TriggerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    dataset_id: str = Field(min_length=1, max_length=40)
    job: TriggerJob = Field(default_factory=TriggerJob)
    alias: str = Field(pattern=ALIAS_NAME_PATTERN, description="The alias a better model moves.")
    gate: Gate


class TriggerPublic(BaseModel):
    id: str
    name: str
    url: str = Field(description="POST signed calls here (Standard Webhooks).")
    dataset_id: str = Field(description="The latest version of the dataset retrains use.")
    job: dict[str, Any]
    alias: str
    gate: Gate
    created_at: datetime


class TriggerWithSecret(TriggerPublic):
    secret: str = Field(description="Signs calls to `url`; shown only when created or rotated.")


class TriggersPublic(BaseModel):
    data: list[TriggerPublic]
    has_more: bool


class TriggerFireBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    examples: list[ExampleIn] = Field(
        default_factory=list,
        description="New labeled examples, appended to the dataset as a new version.",
    )


class TriggerRunPublic(BaseModel):
    id: str
    status: Literal["training", "evaluating", "promoted", "rejected", "failed"]
    dataset_id: str
    job_id: str
    candidate_model_id: str | None
    current_model_id: str | None
    candidate_score: float | None
    current_score: float | None
    reason: str | None
    created_at: datetime
    finished_at: datetime | None


class TriggerRunsPublic(BaseModel):
    data: list[TriggerRunPublic]
    has_more: bool


class TriggerFired(BaseModel):
    run: TriggerRunPublic
    coalesced: bool = Field(
        description="A retrain was already running: this call joined it. New examples are "
        "kept and trained on by one more retrain when it ends."
    )
    dataset_id: str = Field(description="The dataset version this call produced or used.")
