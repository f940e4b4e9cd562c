from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import NO_NUL

ALIAS_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
Reason = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]


class AliasPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(min_length=1, max_length=40)
    reason: Reason | None = Field(default=None, description="Kept in the alias's history.")


class AliasRollback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class AliasMovePublic(BaseModel):
    from_model_id: str | None
    to_model_id: str
    actor: str = Field(description="Who moved it: `key:<api key id>`.")
    reason: str | None
    is_rollback: bool
    rolled_back: bool = Field(description="A later rollback undid this move.")
    created_at: datetime


class AliasPublic(BaseModel):
    name: str
    model_id: str
    created_at: datetime
    updated_at: datetime
    history: list[AliasMovePublic] = Field(description="Every move, newest first.")


class AliasesPublic(BaseModel):
    data: list[AliasPublic]
    has_more: bool
