from celery import Celery

from app.core.config import Settings

TRAIN_TASK = "adaptd.train_job"
TRAINING_QUEUE = "training"
DEFAULT_QUEUE = "default"


def create_celery(settings: Settings) -> Celery:
    """The Celery app every process shares: JSON only, ids only, the broker only a doorbell."""
    celery = Celery("adaptd", broker=settings.broker_url)
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        task_routes={TRAIN_TASK: {"queue": TRAINING_QUEUE}},
        broker_transport_options={
            "visibility_timeout": settings.training_visibility_timeout_seconds
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return celery


def publish_training(celery: Celery, job_id: str) -> None:
    celery.send_task(TRAIN_TASK, args=[job_id], queue=TRAINING_QUEUE)
