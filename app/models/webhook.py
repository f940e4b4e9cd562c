from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime


class WebhookEndpoint(TimestampMixin, Base):
    """A team's subscription: where to send which events, and the secret that signs them."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON)
    sealed_secret: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookEvent(TimestampMixin, Base):
    """An outbox row, written in the transaction of the change it announces. Its id is the
    event's sequence number."""

    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebhookDelivery(TimestampMixin, Base):
    """One event on its way to one endpoint: attempts, the last answer, and when to try next."""

    __tablename__ = "webhook_delivery"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_event.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_response: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[WebhookEvent] = relationship(lazy="joined")
    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="joined")
