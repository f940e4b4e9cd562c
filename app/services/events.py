"""A job's event log. Events are added to the session of the change they record, so they
commit, or roll back, with it."""

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import JobEvent
from app.services.queries import Page
from app.services.webhook_events import announce_job_states

event.listen(Session, "before_flush", announce_job_states)


def state(job_id: str, status: str, message: str, **data: Any) -> JobEvent:
    return JobEvent(job_id=job_id, type="state", message=message, data={"status": status, **data})


def note(job_id: str, type_: str, message: str, **data: Any) -> JobEvent:
    return JobEvent(job_id=job_id, type=type_, message=message, data=data)


def get_page(session: Session, *, job_id: str, after: int | None, limit: int) -> Page[JobEvent]:
    """Oldest first: an event log reads forwards, and `after` is the last sequence seen."""
    statement = select(JobEvent).where(JobEvent.job_id == job_id)
    if after is not None:
        statement = statement.where(JobEvent.id > after)
    rows = list(session.scalars(statement.order_by(JobEvent.id).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)
