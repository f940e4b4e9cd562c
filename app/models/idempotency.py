from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime


class IdempotencyRecord(TimestampMixin, Base):
    """The first answer to a POST carrying an Idempotency-Key, replayed to its repeats.

    While the first request runs, the row is its reservation (`updated_at` says since when);
    `committed_at` is written in the transaction that commits its work, so a key whose work
    committed is never freed for a second run."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("team_id", "key"),
        Index("ix_idempotency_record_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
