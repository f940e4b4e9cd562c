from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Name

Scope = Literal["read", "write", "admin"]
DEFAULT_SCOPES: tuple[Scope, ...] = ("read", "write")


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name


class TeamPublic(BaseModel):
    id: str
    name: str
    created_at: datetime


class TeamsPublic(BaseModel):
    data: list[TeamPublic]
    has_more: bool


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = "api key"
    scopes: list[Scope] = Field(default_factory=lambda: list(DEFAULT_SCOPES), min_length=1)


class ApiKeyPublic(BaseModel):
    id: str
    team_id: str
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret; shown only in this answer.")


class ApiKeysPublic(BaseModel):
    data: list[ApiKeyPublic]
    has_more: bool


QUOTA_FIELDS = {
    "active_jobs": "Jobs queued or running at once; a submit beyond it answers 429.",
    "running_jobs": "Jobs running at once; the rest wait their turn, teams taking turns.",
    "predict_texts_in_flight": "Texts in predict requests being answered at once, per API "
    "process; a request beyond it answers 429.",
    "webhooks": "Webhook endpoints.",
    "triggers": "Retraining triggers.",
    "api_keys": "API keys not revoked.",
    "requests_per_minute": "Requests per minute, per API key.",
}


class QuotaLimits(BaseModel):
    """One team's limits; each is the team's own where the admin set one, else the default."""

    active_jobs: int = Field(description=QUOTA_FIELDS["active_jobs"])
    running_jobs: int = Field(description=QUOTA_FIELDS["running_jobs"])
    predict_texts_in_flight: int = Field(description=QUOTA_FIELDS["predict_texts_in_flight"])
    webhooks: int = Field(description=QUOTA_FIELDS["webhooks"])
    triggers: int = Field(description=QUOTA_FIELDS["triggers"])
    api_keys: int = Field(description=QUOTA_FIELDS["api_keys"])
    requests_per_minute: int = Field(description=QUOTA_FIELDS["requests_per_minute"])


class QuotaChanges(BaseModel):
    """The limits to change; a number sets the team's own limit, null returns it to the
    default, and a limit left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    active_jobs: int | None = Field(default=None, ge=1, le=1_000_000)
    running_jobs: int | None = Field(default=None, ge=1, le=10_000)
    predict_texts_in_flight: int | None = Field(default=None, ge=1, le=1_000_000)
    webhooks: int | None = Field(default=None, ge=1, le=10_000)
    triggers: int | None = Field(default=None, ge=1, le=10_000)
    api_keys: int | None = Field(default=None, ge=1, le=10_000)
    requests_per_minute: int | None = Field(default=None, ge=1, le=10_000_000)


class QuotasPublic(BaseModel):
    team_id: str
    limits: QuotaLimits
    overrides: dict[str, int] = Field(description="The limits set for this team alone.")
    usage: dict[str, int] = Field(
        description="What the team holds now of each limit counted in the database."
    )
