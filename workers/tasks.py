import logging
import os
import socket
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_shutting_down

from app.core.config import Settings
from app.core.queue import TRAIN_TASK, publish_training
from workers.execution import execute_job
from workers.maintenance import dispatch_due

logger = logging.getLogger(__name__)


def register_tasks(celery: Celery, settings: Settings) -> None:
    worker = f"celery@{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()

    def on_shutdown(**_signal: Any) -> None:
        stopping.set()

    worker_shutting_down.connect(on_shutdown, weak=False)

    @celery.task(name=TRAIN_TASK)  # type: ignore[untyped-decorator]
    def train_job(job_id: str) -> bool:
        try:
            return execute_job(settings, job_id, worker=worker, stopping=stopping)
        finally:
            _publish_next(settings, celery)


def _publish_next(settings: Settings, celery: Celery) -> None:
    """A place that a job left is given to the next team in turn now, not at the next
    maintenance round."""
    try:
        dispatch_due(settings, lambda job_id: publish_training(celery, job_id))
    except Exception:
        logger.exception("could not publish the next jobs; the maintenance round will")
