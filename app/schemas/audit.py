from datetime import datetime

from pydantic import BaseModel, Field


class AuditEntryPublic(BaseModel):
    id: str
    actor: str = Field(
        description="The API key's id, `operator` for the admin token, or `trigger:<id>` for a "
        "signed trigger call."
    )
    action: str = Field(description="The operation, named as in the API reference.")
    method: str
    path: str
    resource: str | None = Field(description="The id of what was written, where there is one.")
    status_code: int
    created_at: datetime


class AuditEntriesPublic(BaseModel):
    data: list[AuditEntryPublic]
    has_more: bool
