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
