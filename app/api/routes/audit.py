"""The audit log of a team's writes, for its admin-scoped keys (the operator reads any team's
under /v1/teams/{team_id}/audit)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from app.api.deps import AdminKey, AfterQuery, LimitQuery, SessionDep
from app.models import AuditEntry
from app.schemas.audit import AuditEntriesPublic, AuditEntryPublic
from app.schemas.common import PROBLEM_RESPONSES
from app.services import audit

router = APIRouter(prefix="/audit", tags=["teams"], responses=PROBLEM_RESPONSES)
ActorQuery = Annotated[str | None, Query(max_length=60, description="Only this actor's writes.")]
ActionQuery = Annotated[str | None, Query(max_length=100, description="Only this operation.")]
ResourceQuery = Annotated[
    str | None, Query(max_length=200, description="Only writes to this resource id.")
]


def entry_public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic.model_validate(entry, from_attributes=True)


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to read: paging and filters, as query parameters."""

    limit: LimitQuery = 20
    after: AfterQuery = None
    actor: ActorQuery = None
    action: ActionQuery = None
    resource: ResourceQuery = None


AuditQueryDep = Annotated[AuditQuery, Depends()]


def entries_page(session: Session, *, team_id: str, query: AuditQuery) -> AuditEntriesPublic:
    page = audit.get_all(
        session,
        team_id=team_id,
        limit=query.limit,
        after=query.after,
        actor=query.actor,
        action=query.action,
        resource=query.resource,
    )
    return AuditEntriesPublic(data=[entry_public(e) for e in page.items], has_more=page.has_more)


@router.get("", response_model=AuditEntriesPublic)
def list_audit_entries(
    session: SessionDep, key: AdminKey, query: AuditQueryDep
) -> AuditEntriesPublic:
    """Every write this team's keys, its triggers and the operator made that took effect,
    newest first: who, which operation, on what, when."""
    return entries_page(session, team_id=key.team_id, query=query)
