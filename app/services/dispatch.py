"""The job table is the outbox: queued jobs are published in their turn (see `scheduling`)
until a publication is recorded, and again when a publication is old enough to have been lost
(a broker restart or flush)."""

import logging
from collections.abc import Callable

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import Job
from app.services import scheduling

logger = logging.getLogger(__name__)
BATCH = 100


def publish_due(session: Session, *, settings: Settings, send: Callable[[str], None]) -> list[str]:
    """Publish every job whose turn has come; answer the ids the broker took."""
    return publish(
        session, job_ids=scheduling.due(session, settings=settings, limit=BATCH), send=send
    )


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
