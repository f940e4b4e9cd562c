"""The service's resources as typed, read-only records. Fields the service adds later are kept
(`extra="allow"`), so an older client reads a newer server's answers."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ENDED_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


class Resource(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())


class Dataset(Resource):
    id: str
    name: str
    format: str
    num_examples: int
    labels: dict[str, int] = Field(description="Examples per label.")
    multi_label: bool
    warnings: list[str]
    parent_id: str | None = None
    created_at: datetime


class JobProgress(Resource):
    step: int | None = None
    total_steps: int | None = None
    epoch: int | None = None
    epochs: int | None = None
    fraction: float | None = None
    loss: float | None = None
    eta_seconds: int | None = None


class JobError(Resource):
    code: str
    message: str


class Job(Resource):
    id: str
    kind: str = Field(default="train", description="train, evaluate or accelerate")
    status: JobStatus
    dataset_id: str | None
    strategy: str
    requested_strategy: str
    strategy_reason: str | None = None
    auto: dict[str, Any] | None = None
    search: dict[str, Any] | None = None
    base_model: str
    hyperparameters: dict[str, Any]
    metadata: dict[str, Any] = Field(default_factory=dict)
    progress: JobProgress
    metrics: dict[str, float]
    error: JobError | None = None
    model_id: str | None = None
    request: dict[str, Any] | None = None
    result: dict[str, Any] | None = Field(
        default=None, description="A scoring job's outcome: its evaluation_id, or measurement."
    )
    attempt: int
    max_attempts: int
    device: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cancel_requested_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATUSES


class JobEvent(Resource):
    sequence: int
    type: str = Field(description="`state`, `metrics`, `info`, `warning` or `error`.")
    message: str
    data: dict[str, Any]
    created_at: datetime


class Acceleration(Resource):
    method: str
    accuracy_change: float
    agreement: float
    reference: dict[str, float]
    accelerated: dict[str, float]


class Model(Resource):
    id: str
    job_id: str | None
    strategy: str
    base_model: str
    labels: list[str]
    multi_label: bool
    metrics: dict[str, float]
    size_bytes: int
    acceleration: Acceleration | None = None
    abstain_threshold: float | None = None
    created_at: datetime


class LabelScore(Resource):
    label: str
    score: float


class Prediction(Resource):
    label: str | None = Field(description="The best label; None where the model abstained.")
    score: float
    labels: list[str]
    scores: list[LabelScore]
    abstained: bool = False


class Predictions(Resource):
    model_id: str
    predictions: list[Prediction]


class Evaluation(Resource):
    id: str
    model_id: str
    dataset_id: str | None
    kind: str
    report: dict[str, Any] = Field(
        description="accuracy, macro_f1, micro_f1, per_label, confusion_matrix, "
        "top_confusions, expected_calibration_error, ..."
    )
    created_at: datetime


class AliasMove(Resource):
    from_model_id: str | None
    to_model_id: str
    actor: str
    reason: str | None
    is_rollback: bool
    rolled_back: bool
    created_at: datetime


class Alias(Resource):
    name: str
    model_id: str
    created_at: datetime
    updated_at: datetime
    history: list[AliasMove] = Field(description="Every move, newest first.")


class Webhook(Resource):
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None = None
    secret: str | None = Field(default=None, description="Only in the answer that made it.")
    created_at: datetime


class Delivery(Resource):
    id: str
    event_type: str
    sequence: int
    payload: dict[str, Any]
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    last_response: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime


class Gate(Resource):
    metric: str = "macro_f1"
    min_delta: float = 0.0
    eval_dataset_id: str


class Trigger(Resource):
    id: str
    name: str
    url: str
    dataset_id: str
    job: dict[str, Any]
    alias: str
    gate: Gate
    secret: str | None = Field(default=None, description="Only in the answer that made it.")
    created_at: datetime


class TriggerRun(Resource):
    id: str
    status: Literal["training", "evaluating", "promoted", "rejected", "failed"]
    dataset_id: str
    job_id: str
    candidate_model_id: str | None = None
    current_model_id: str | None = None
    candidate_score: float | None = None
    current_score: float | None = None
    reason: str | None = None
    created_at: datetime
    finished_at: datetime | None = None


class TriggerFired(Resource):
    run: TriggerRun
    coalesced: bool
    dataset_id: str


class QuotaLimits(Resource):
    active_jobs: int
    running_jobs: int
    predict_texts_in_flight: int
    webhooks: int
    triggers: int
    api_keys: int
    requests_per_minute: int


class Quotas(Resource):
    """A team's limits (its own where the operator set them, else the defaults), the ones set
    for it alone, and what it holds now of each limit counted in the database."""

    team_id: str
    limits: QuotaLimits
    overrides: dict[str, int]
    usage: dict[str, int]


class ApiKey(Resource):
    """One of the team's API keys; `key`, the secret, is in the answer that made it only."""

    id: str
    team_id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None
    key: str | None = None


class AuditEntry(Resource):
    """One write that took effect: who (`actor`: a key id, `operator`, `trigger:<id>`), which
    operation (`action`), on what (`resource`), when."""

    id: str
    actor: str
    action: str
    method: str
    path: str
    resource: str | None = None
    status_code: int
    created_at: datetime


class Strategy(Resource):
    strategy: str
    summary: str
    hyperparameters: dict[str, Any]
    continues_from_model: bool
    needs_dataset: bool
    exports_standalone: bool
