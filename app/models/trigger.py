from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime


class Trigger(TimestampMixin, Base):
    """An inbound retraining hook: new examples in, a retrain out, the alias moved only if the
    candidate beats the current model on a fixed evaluation dataset."""

    __tablename__ = "trigger"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id", ondelete="RESTRICT"))
    job: Mapped[dict[str, Any]] = mapped_column(JSON)
    alias: Mapped[str] = mapped_column(String(100))
    gate_metric: Mapped[str] = mapped_column(String(20))
    gate_min_delta: Mapped[float] = mapped_column(Float)
    eval_dataset_id: Mapped[str] = mapped_column(ForeignKey("dataset.id", ondelete="RESTRICT"))
    sealed_secret: Mapped[str] = mapped_column(Text)
    sealed_previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rerun_requested: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)


class TriggerRun(TimestampMixin, Base):
    """One retrain: its dataset version and job, then the gate's scores and decision."""

    __tablename__ = "trigger_run"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    trigger_id: Mapped[str] = mapped_column(
        ForeignKey("trigger.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), index=True)
    dataset_id: Mapped[str] = mapped_column(String(40))
    job_id: Mapped[str] = mapped_column(String(40))
    candidate_model_id: Mapped[str | None] = mapped_column(String(40))
    current_model_id: Mapped[str | None] = mapped_column(String(40))
    candidate_score: Mapped[float | None] = mapped_column(Float)
    current_score: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TriggerFire(TimestampMixin, Base):
    """One accepted, signed call, kept by its `webhook-id` so a replay gets the first answer."""

    __tablename__ = "trigger_fire"
    __table_args__ = (
        UniqueConstraint("trigger_id", "message_id"),
        Index("ix_trigger_fire_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trigger_id: Mapped[str] = mapped_column(ForeignKey("trigger.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
