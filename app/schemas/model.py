from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.ml.runtime import ACCELERATIONS
from app.ml.strategies import Strategy

_METHODS = "; ".join(f"`{backend}`: {what}" for backend, what in ACCELERATIONS.items())


class AccelerationScores(BaseModel):
    accuracy: float
    macro_f1: float
    texts_per_second: float = Field(description="Measured while scoring, on this server.")


class AccelerationPublic(BaseModel):
    method: str = Field(description=f"The backend served: {_METHODS}")
    dataset_id: str | None = Field(
        description="The dataset measured on; null for the model's own validation data."
    )
    num_examples: int
    reference: AccelerationScores = Field(description="The model as trained (float32).")
    accelerated: AccelerationScores
    accuracy_change: float = Field(description="accelerated minus reference accuracy.")
    max_accuracy_drop: float
    agreement: float = Field(description="Share of examples given the same labels by both.")
    measured_at: datetime


class AccelerationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["int8", "onnx", "fp16"] = Field(
        default="int8", description=f"The backend to serve with: {_METHODS}"
    )
    dataset_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="A labeled dataset to measure the change on; by default the validation "
        "data the model was trained with.",
    )
    max_accuracy_drop: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="The job fails (`accuracy_drop_too_large`) and nothing changes when "
        "accuracy falls by more than this "
        "(0.01 is one point).",
    )


class ModelPublic(BaseModel):
    id: str
    job_id: str | None
    strategy: Strategy
    base_model: str
    labels: list[str]
    multi_label: bool
    metrics: dict[str, float]
    size_bytes: int
    acceleration: AccelerationPublic | None = Field(
        description="How the model is served faster, with the accuracy change measured; null "
        "when served as trained."
    )
    abstain_threshold: float | None = Field(
        description="A single-label model answers no label (`abstained`) where its best score "
        "is under this. Chosen in training on validation data that holds out-of-scope examples "
        "(a label named `oos` or `out_of_scope`): the most of them caught while in-scope "
        "accuracy stays within a point; null (never abstain) without such data. Set it with "
        "PATCH, or per request."
    )
    created_at: datetime


class ModelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    abstain_threshold: float | None = Field(
        ge=0,
        le=1,
        description="Abstain under this best score; null never abstains. Single-label only.",
    )


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    has_more: bool


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: str | list[str] = Field(description="One text, or a list of texts.")
    top_k: int | None = Field(
        default=None,
        ge=1,
        description="Keep only the k best scores (default: every label, up to the server's cap).",
    )
    thresholds: dict[str, Annotated[float, Field(ge=0, le=1)]] | float | None = Field(
        default=None,
        description="Multi-label models only: a cut-off for every label, or per label, in "
        "place of the thresholds tuned on the validation data.",
    )
    abstain_threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Single-label models only: abstain where the best score is under this, in "
        "place of the model's `abstain_threshold`; null never abstains.",
    )

    @property
    def texts(self) -> list[str]:
        return [self.inputs] if isinstance(self.inputs, str) else self.inputs


class LabelScorePublic(BaseModel):
    label: str
    score: float


class PredictionPublic(BaseModel):
    label: str | None = Field(description="The best-scoring label; null where the model abstained.")
    score: float = Field(description="The best label's score.")
    labels: list[str] = Field(
        description="The labels assigned: the best one for a single-label model (none where it "
        "abstained), every label at or above its threshold for a multi-label model."
    )
    scores: list[LabelScorePublic]
    abstained: bool = Field(
        description="The best score is under the abstain threshold: the text may belong to no "
        "label the model knows."
    )


class PredictResponse(BaseModel):
    model_id: str
    predictions: list[PredictionPublic]


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, max_length=40, description="A labeled dataset.")


class EvaluationPublic(BaseModel):
    id: str
    model_id: str
    dataset_id: str | None = Field(
        description="The dataset scored; null for the validation split held out in training."
    )
    kind: str = Field(description="`validation` (made in training) or `dataset` (on request).")
    report: dict[str, Any] = Field(
        description="accuracy, macro_f1, micro_f1, per_label precision/recall/f1/support, "
        "confusion_matrix and top_confusions (single-label) or label_confusion (multi-label), "
        "expected_calibration_error and calibration_bins (the reliability diagram: per "
        "confidence bin its range, count, mean confidence and accuracy), num_examples."
    )
    created_at: datetime
