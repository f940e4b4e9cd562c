from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.common import Name


class ExampleIn(BaseModel):
    """One example: `label` for single-label data, or `labels` (a list, possibly empty) for
    multi-label data; a dataset uses one or the other throughout."""

    model_config = ConfigDict(extra="forbid")

    text: str
    label: str | int | None = None
    labels: list[str] | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _one_kind_of_label(self) -> "ExampleIn":
        if (self.label is None) == (self.labels is None):
            raise ValueError("give either label (one) or labels (a list)")
        return self


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = "dataset"
    examples: list[ExampleIn] = Field(min_length=1)


class DatasetPublic(BaseModel):
    id: str
    name: str
    format: str
    num_examples: int
    labels: dict[str, int] = Field(description="Examples per label.")
    multi_label: bool = Field(description="Whether examples carry a list of labels each.")
    warnings: list[str]
    parent_id: str | None = Field(
        default=None, description="The dataset this version extends (retraining triggers)."
    )
    created_at: datetime


class DatasetsPublic(BaseModel):
    data: list[DatasetPublic]
    has_more: bool
