from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class Model(TimestampMixin, Base):
    __tablename__ = "model"
    __table_args__ = (Index("ix_model_team_id_id", "team_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[str | None] = mapped_column(String(40), index=True)
    strategy: Mapped[str] = mapped_column(String(20))
    base_model: Mapped[str] = mapped_column(String(200))
    labels: Mapped[list[str]] = mapped_column(JSON)
    multi_label: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    artifact_key: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    acceleration: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    abstain_threshold: Mapped[float | None] = mapped_column(Float, default=None)
