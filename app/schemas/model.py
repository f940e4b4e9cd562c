from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ModelPublic(BaseModel):
    id: str
    job_id: str | None
    strategy: str
    base_model: str
    labels: list[str]
    metrics: dict[str, float]
    size_bytes: int
    created_at: datetime


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    has_more: bool


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: str | list[str] = Field(description="One text, or a list of texts.")
    top_k: int | None = Field(default=None, ge=1, description="Keep only the k best scores.")

    @property
    def texts(self) -> list[str]:
        return [self.inputs] if isinstance(self.inputs, str) else self.inputs


class LabelScorePublic(BaseModel):
    label: str
    score: float


class PredictionPublic(BaseModel):
    label: str
    score: float
    scores: list[LabelScorePublic]


class PredictResponse(BaseModel):
    model_id: str
    predictions: list[PredictionPublic]
