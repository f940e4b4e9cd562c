from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Name


class ExampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    label: str | int


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
    warnings: list[str]
    created_at: datetime


class DatasetsPublic(BaseModel):
    data: list[DatasetPublic]
    has_more: bool
