"""The audit log: one entry per write that took effect, readable by the team's admin keys."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from app.models import AuditEntry
from app.services.queries import Page, paginate

OPERATOR = "operator"


@dataclass(frozen=True)
class Actor:
    """Who makes a request: an API key of a team, the operator, or a signed trigger call."""

    name: str
    team_id: str | None


@dataclass(frozen=True)
class Write:
    actor: Actor
    team_id: str
    action: str
    method: str
    path: str
    resource: str | None
    status_code: int


def record(session: Session, write: Write) -> AuditEntry:
    entry = AuditEntry(
        id=new_id("aud"),
        team_id=write.team_id,
        actor=write.actor.name,
        action=write.action,
        method=write.method,
        path=write.path[:2000],
        resource=None if write.resource is None else write.resource[:200],
        status_code=write.status_code,
    )
    session.add(entry)
    session.flush()
    return entry


def get_all(
    session: Session,
    *,
    team_id: str,
    limit: int,
    after: str | None,
    actor: str | None = None,
    action: str | None = None,
    resource: str | None = None,
) -> Page[AuditEntry]:
    statement = select(AuditEntry).where(AuditEntry.team_id == team_id)
    if actor is not None:
        statement = statement.where(AuditEntry.actor == actor)
    if action is not None:
        statement = statement.where(AuditEntry.action == action)
    if resource is not None:
        statement = statement.where(AuditEntry.resource == resource)
    return paginate(session, statement, AuditEntry.id, limit=limit, after=after)
