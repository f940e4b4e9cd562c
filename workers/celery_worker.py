import threading

from celery import Celery

from app.core.config import Settings
from app.core.queue import DEFAULT_QUEUE, TRAINING_QUEUE, create_celery, publish_training
from workers.maintenance import start_maintenance_thread
from workers.tasks import register_tasks
from workers.webhooks import start_sender_thread


def build_worker_app(settings: Settings) -> Celery:
    celery = create_celery(settings)
    register_tasks(celery, settings)
    return celery


def run_worker(
    settings: Settings,
    *,
    queues: str = TRAINING_QUEUE,
    loglevel: str = "INFO",
    hostname: str = "celery@%h",
) -> None:
    """One solo-pool process per GPU: the task itself spawns and supervises the training
    process. A worker on the `default` queue also sends webhooks."""
    celery = build_worker_app(settings)
    start_maintenance_thread(settings, send=lambda job_id: publish_training(celery, job_id))
    if DEFAULT_QUEUE in queues.split(","):
        start_sender_thread(settings, threading.Event())
    celery.worker_main(
        argv=[
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--queues={queues}",
            f"--loglevel={loglevel}",
            f"--hostname={hostname}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
