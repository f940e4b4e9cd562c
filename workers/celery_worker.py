from celery import Celery

from app.core.config import Settings
from app.core.queue import (
    TRAINING_QUEUE,
    create_celery,
    publish_training,
    publish_webhook_delivery,
)
from workers.maintenance import start_maintenance_thread
from workers.tasks import register_tasks


def build_worker_app(settings: Settings) -> Celery:
    celery = create_celery(settings)
    register_tasks(celery, settings)
    return celery


def run_worker(settings: Settings, *, queues: str = TRAINING_QUEUE, loglevel: str = "INFO") -> None:
    """One solo-pool process per GPU: the task itself spawns and supervises the training process."""
    celery = build_worker_app(settings)
    start_maintenance_thread(
        settings,
        send=lambda job_id: publish_training(celery, job_id),
        send_webhook=lambda delivery_id: publish_webhook_delivery(celery, delivery_id),
    )
    celery.worker_main(
        argv=[
            "worker",
            "--pool=solo",
            "--concurrency=1",
            f"--queues={queues}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
