"""Returns jobs whose worker died (no heartbeat within the lease) to the queue."""

import logging
import threading
from collections.abc import Callable

from app.core.config import Settings
from app.core.db import new_session
from app.services import jobs

logger = logging.getLogger(__name__)


def reap(settings: Settings, publish: Callable[[str], None] | None = None) -> list[str]:
    with new_session(settings) as session:
        requeued = jobs.requeue_expired(session, lease_seconds=settings.lease_seconds)
    for job_id in requeued:
        logger.warning("job %s lost its worker; queued again", job_id)
        if publish is not None:
            publish(job_id)
    return requeued


def start_reaper_thread(settings: Settings, publish: Callable[[str], None]) -> threading.Thread:
    def loop() -> None:
        while True:
            try:
                reap(settings, publish)
            except Exception:
                logger.exception("reaping expired leases failed; trying again")
            threading.Event().wait(settings.lease_seconds / 2)

    thread = threading.Thread(target=loop, name="adaptd-reaper", daemon=True)
    thread.start()
    return thread
