import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


class JobKind(enum.StrEnum):
    """What a job does: train a model, or score an existing one (an evaluation, or the
    measurement that decides whether it may be served accelerated)."""

    train = "train"
    evaluate = "evaluate"
    accelerate = "accelerate"


TERMINAL_STATUSES = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled})


class Job(TimestampMixin, Base):
    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_team_id_started_at", "team_id", "started_at"),
        Index("ix_job_team_id_id", "team_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    kind: Mapped[JobKind] = mapped_column(
        Enum(JobKind, native_enum=False, length=20), server_default="train", default=JobKind.train
    )
    request: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("dataset.id", ondelete="SET NULL"), index=True
    )
    validation_dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("dataset.id", ondelete="SET NULL")
    )
    validation_split: Mapped[float | None] = mapped_column(Float)
    strategy: Mapped[str] = mapped_column(String(20))
    requested_strategy: Mapped[str] = mapped_column(String(20), server_default="full")
    strategy_reason: Mapped[str | None] = mapped_column(Text, default=None)
    init_from_model_id: Mapped[str | None] = mapped_column(String(40), default=None)
    budget: Mapped[str] = mapped_column(String(20), server_default="standard")
    budget_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    auto_decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    search: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    label_descriptions: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    base_model: Mapped[str] = mapped_column(String(200))
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)

    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=20), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    lease_token: Mapped[str | None] = mapped_column(String(40), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    device: Mapped[str | None] = mapped_column(String(40), default=None)

    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error_code: Mapped[str | None] = mapped_column(String(60), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    model_id: Mapped[str | None] = mapped_column(
        ForeignKey("model.id", ondelete="SET NULL", use_alter=True), default=None
    )

    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
