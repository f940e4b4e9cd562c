"""The job table is the outbox: queued jobs are published until a publication is recorded,
and again when a publication is old enough to have been lost (a broker restart or flush)."""

import logging
from collections.abc import Callable

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app.models import Job, JobStatus
from app.services.queries import database_seconds_ago

logger = logging.getLogger(__name__)
BATCH = 100


def publish(session: Session, *, job_ids: list[str], send: Callable[[str], None]) -> list[str]:
    """Send each id; record only the ones the broker took. Failures stay for the next round."""
    sent = []
    for job_id in job_ids:
        try:
            send(job_id)
        except Exception:
            logger.exception("could not publish job %s; it stays queued for the dispatcher", job_id)
            break
        sent.append(job_id)
    if sent:
        session.execute(update(Job).where(Job.id.in_(sent)).values(published_at=func.now()))
        session.commit()
    return sent


def due(session: Session, *, republish_after_seconds: float) -> list[str]:
    stale = database_seconds_ago(session, republish_after_seconds)
    statement = (
        select(Job.id)
        .where(
            Job.status == JobStatus.queued,
            or_(Job.published_at.is_(None), Job.published_at < stale),
        )
        .order_by(Job.id)
        .limit(BATCH)
    )
    return list(session.scalars(statement))
