"""The embedded runner: claims queued jobs from the job table, no broker needed."""

import logging
import os
import signal
import socket
import threading

from app.core.config import Settings
from app.core.db import new_session
from app.services import leases
from workers.execution import execute_job
from workers.maintenance import reap
from workers.retrains import advance_due
from workers.webhooks import deliver_due

logger = logging.getLogger(__name__)


def run_forever(settings: Settings, parent: int | None = None) -> None:
    """Run queued jobs one at a time until SIGTERM (which pauses the current job cleanly) or
    until the `adaptd serve` process that started this one is gone."""
    worker = f"embedded@{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    logger.info("embedded runner %s polling for queued jobs", worker)
    start_background_loop(settings, stopping)
    while not stopping.is_set() and (parent is None or os.getppid() == parent):
        reap(settings)
        if not run_next(settings, worker=worker, stopping=stopping):
            stopping.wait(settings.runner_poll_seconds)


def start_background_loop(settings: Settings, stopping: threading.Event) -> threading.Thread:
    """Send due webhook deliveries and decide finished retrains beside the job loop, so a
    long job never delays them."""

    def loop() -> None:
        while not stopping.wait(settings.webhook_poll_seconds):
            try:
                deliver_due(settings)
                advance_due(settings)
            except Exception:
                logger.exception("background work failed; trying again")

    thread = threading.Thread(target=loop, name="adaptd-background", daemon=True)
    thread.start()
    return thread


def run_next(settings: Settings, *, worker: str, stopping: threading.Event | None = None) -> bool:
    with new_session(settings) as session:
        job_id = leases.next_queued_id(session)
    if job_id is None:
        return False
    execute_job(settings, job_id, worker=worker, stopping=stopping)
    return True
