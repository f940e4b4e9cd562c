"""What a training process does with a claimed job: plan, train, publish, all under its lease."""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import new_session
from app.core.ids import new_id
from app.core.storage import ArtifactStore, size_of
from app.ml.arguments import FullFineTuneArguments
from app.ml.artifact import Manifest, save_artifact
from app.ml.data import LabeledExample, TrainingDataError, stratified_split
from app.ml.device import plan_device
from app.ml.loading import BaseModelError
from app.ml.trainer import FullFineTuner, TrainingPaused
from app.models import Job, Model
from app.services import datasets, leases
from app.services.progress import JobReporter, LeaseLost


@dataclass(frozen=True)
class TrainingPlan:
    arguments: FullFineTuneArguments
    base_model_path: str
    train: list[LabeledExample]
    validation: list[LabeledExample]


def train_job(
    settings: Settings, job_id: str, lease_token: str, should_pause: Callable[[], bool]
) -> None:
    """Entry point of the spawned training process."""
    with new_session(settings) as session:
        try:
            _train(session, settings, job_id, lease_token, should_pause)
        except LeaseLost:
            return
        except TrainingPaused as paused:
            leases.release(session, job_id=job_id, lease_token=lease_token, step=paused.step)
        except Exception as error:
            session.rollback()
            code, message = _describe_failure(error)
            if leases.fail(
                session, job_id=job_id, lease_token=lease_token, code=code, message=message
            ):
                ArtifactStore(settings.artifact_root).delete_checkpoint(job_id)


def _train(
    session: Session,
    settings: Settings,
    job_id: str,
    lease_token: str,
    should_pause: Callable[[], bool],
) -> None:
    job = session.get(Job, job_id)
    if job is None or job.lease_token != lease_token:
        raise LeaseLost(job_id)
    plan = _plan(session, settings, job)
    device = plan_device(settings.device)
    if not leases.record_device(
        session, job_id=job_id, lease_token=lease_token, device=device.description
    ):
        raise LeaseLost(job_id)
    store = ArtifactStore(settings.artifact_root)
    reporter = JobReporter(session, job_id, lease_token)
    trainer = FullFineTuner(
        plan.arguments,
        base_model_path=plan.base_model_path,
        device=device,
        on_progress=reporter.on_progress,
        on_epoch=reporter.on_epoch,
        checkpoint_dir=store.checkpoint_dir(job_id),
        should_pause=should_pause,
    )
    result = trainer.train(plan.train, plan.validation)
    model_id = new_id("mdl")
    manifest = Manifest(
        strategy=job.strategy,
        base_model=job.base_model,
        labels=result.labels,
        metrics=result.metrics,
        hyperparameters=plan.arguments.to_dict(),
        max_length=plan.arguments.max_length,
    )
    with store.writing(model_id) as directory:
        save_artifact(result, manifest, directory)
    model = Model(
        id=model_id,
        team_id=job.team_id,
        job_id=job.id,
        strategy=job.strategy,
        base_model=job.base_model,
        labels=result.labels,
        metrics=result.metrics,
        artifact_key=model_id,
        size_bytes=size_of(store.path(model_id)),
    )
    if not leases.succeed(
        session, job_id=job_id, lease_token=lease_token, model=model, progress=reporter.latest
    ):
        store.delete(model_id)
        raise LeaseLost(job_id)
    store.delete_checkpoint(job_id)


def _plan(session: Session, settings: Settings, job: Job) -> TrainingPlan:
    base_model_path = settings.registered_base_models.get(job.base_model)
    if base_model_path is None:
        raise BaseModelError(f"base model {job.base_model!r} is no longer registered")
    if job.dataset_id is None:
        raise TrainingDataError("the job's dataset was deleted")
    arguments = FullFineTuneArguments(**job.hyperparameters)
    examples = datasets.get_examples(session, dataset_id=job.dataset_id)
    if job.validation_dataset_id is not None:
        validation = datasets.get_examples(session, dataset_id=job.validation_dataset_id)
        return TrainingPlan(arguments, base_model_path, examples, validation)
    if job.validation_split is None:
        raise TrainingDataError("the job has neither a validation split nor a validation dataset")
    train, validation = stratified_split(examples, job.validation_split, arguments.seed)
    return TrainingPlan(arguments, base_model_path, train, validation)


def _describe_failure(error: Exception) -> tuple[str, str]:
    if isinstance(error, TrainingDataError):
        return "invalid_training_data", str(error)
    if isinstance(error, BaseModelError):
        return "base_model_unavailable", str(error)
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return "out_of_memory", "the GPU ran out of memory; lower batch_size or max_length"
    return "training_error", f"{type(error).__name__}: {error}"
