from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import NO_NUL

EventType = Literal[
    "job.queued",
    "job.running",
    "job.succeeded",
    "job.failed",
    "job.cancelled",
    "model.created",
    "alias.updated",
    "retrain.promoted",
    "retrain.rejected",
]
Url = Annotated[str, StringConstraints(min_length=8, max_length=2000, pattern=NO_NUL)]
Events = Annotated[list[EventType], Field(min_length=1, max_length=20)]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(description="An http(s) URL on a public address (or an allowlisted one).")
    events: Events = Field(description="The event types to send to it.")


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: Events | None = None
    enabled: bool | None = Field(
        default=None, description="`true` turns an endpoint disabled by a 410 answer back on."
    )


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(
        description="Verifies the `webhook-signature` header (Standard Webhooks); shown only "
        "when the endpoint is created or its secret rotated."
    )


class WebhooksPublic(BaseModel):
    data: list[WebhookPublic]
    has_more: bool


class DeliveryPublic(BaseModel):
    id: str
    event_type: str
    sequence: int = Field(description="The event's sequence number, also in its payload.")
    payload: dict[str, Any] = Field(description="The event's `data`.")
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    last_response: str | None = Field(
        default=None, description="The first bytes of the endpoint's last answer."
    )
    delivered_at: datetime | None
    created_at: datetime


class DeliveriesPublic(BaseModel):
    data: list[DeliveryPublic]
    has_more: bool
