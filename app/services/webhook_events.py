"""Outbound events as outbox rows: each event, and one delivery per subscribed endpoint, is
added to the session of the change it announces, so they commit, or roll back, with it."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, UOWTransaction

from app.core.ids import new_id
from app.models import Job, JobEvent, WebhookDelivery, WebhookEndpoint, WebhookEvent
from app.models.base import utcnow

_JOB_EVENT_DATA = {"model_id": "model_id", "attempt": "attempt", "code": "error_code"}


def emit(session: Session, *, team_id: str, type_: str, data: dict[str, Any]) -> WebhookEvent:
    outbox_event = WebhookEvent(team_id=team_id, type=type_, data=data)
    session.add(outbox_event)
    subscribed = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.team_id == team_id, WebhookEndpoint.enabled.is_(True)
        )
    )
    for endpoint in subscribed:
        if type_ in endpoint.events:
            session.add(pending_delivery(endpoint.id, outbox_event))
    return outbox_event


def pending_delivery(endpoint_id: str, outbox_event: WebhookEvent) -> WebhookDelivery:
    return WebhookDelivery(
        id=new_id("whd"),
        endpoint_id=endpoint_id,
        event=outbox_event,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )


def announce_job_states(session: Session, _context: UOWTransaction, _instances: object) -> None:
    """Every job state change is written as a `state` JobEvent; announce each one."""
    states = [row for row in session.new if isinstance(row, JobEvent) and row.type == "state"]
    if not states:
        return
    with session.no_autoflush:
        for row in states:
            status = row.data["status"]
            data = {"job_id": row.job_id, "status": status}
            data |= {new: row.data[old] for old, new in _JOB_EVENT_DATA.items() if old in row.data}
            emit(session, team_id=_team_of(session, row.job_id), type_=f"job.{status}", data=data)


def _team_of(session: Session, job_id: str) -> str:
    pending = (row for row in session.new if isinstance(row, Job) and row.id == job_id)
    job = next(pending, None)
    if job is not None:
        return job.team_id
    return session.scalars(select(Job.team_id).where(Job.id == job_id)).one()
