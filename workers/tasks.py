import os
import socket

from celery import Celery

from app.core.config import Settings
from app.core.queue import TRAIN_TASK
from workers.execution import execute_job


def register_tasks(celery: Celery, settings: Settings) -> None:
    worker = f"celery@{socket.gethostname()}:{os.getpid()}"

    @celery.task(name=TRAIN_TASK)  # type: ignore[untyped-decorator]
    def train_job(job_id: str) -> bool:
        return execute_job(settings, job_id, worker=worker)
