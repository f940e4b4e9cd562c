import os
import socket
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_shutting_down

from app.core.config import Settings
from app.core.queue import TRAIN_TASK
from workers.execution import execute_job


def register_tasks(celery: Celery, settings: Settings) -> None:
    worker = f"celery@{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()

    def on_shutdown(**_signal: Any) -> None:
        stopping.set()

    worker_shutting_down.connect(on_shutdown, weak=False)

    @celery.task(name=TRAIN_TASK)  # type: ignore[untyped-decorator]
    def train_job(job_id: str) -> bool:
        return execute_job(settings, job_id, worker=worker, stopping=stopping)
