"""Housekeeping every worker runs beside its tasks: requeue jobs whose worker died, publish
queued jobs that were never published or whose message was lost, decide finished retrains,
and apply the retention rules."""

import logging
import threading
import time
from collections.abc import Callable

from app.core.config import Settings
from app.core.db import new_session
from app.services import dispatch, leases
from workers.housekeeping import sweep
from workers.retrains import advance_due

logger = logging.getLogger(__name__)


def reap(settings: Settings) -> list[str]:
    with new_session(settings) as session:
        requeued = leases.requeue_expired(session, lease_seconds=settings.lease_seconds)
    for job_id in requeued:
        logger.warning("job %s lost its worker; queued again", job_id)
    return requeued


def dispatch_due(settings: Settings, send: Callable[[str], None]) -> list[str]:
    with new_session(settings) as session:
        return dispatch.publish_due(session, settings=settings, send=send)


def start_maintenance_thread(settings: Settings, send: Callable[[str], None]) -> threading.Thread:
    stop = threading.Event()

    def loop() -> None:
        swept_at = float("-inf")
        while not stop.wait(settings.maintenance_seconds):
            try:
                reap(settings)
                dispatch_due(settings, send)
                advance_due(settings)
                if time.monotonic() - swept_at >= settings.retention_sweep_seconds:
                    sweep(settings)
                    swept_at = time.monotonic()
            except Exception:
                logger.exception("job maintenance failed; trying again")

    thread = threading.Thread(target=loop, name="adaptd-maintenance", daemon=True)
    thread.start()
    return thread
