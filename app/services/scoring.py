"""What a job's process does with a claimed scoring job: an evaluation of a model on a
dataset (kind `evaluate`), or the measurement that decides whether a model is served
accelerated (kind `accelerate`). Whole-dataset inference runs here, on a worker, never in the
API process; progress is the share of texts scored."""

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.problems import Problem
from app.core.storage import open_store
from app.ml.device import plan_device
from app.ml.predictor import Predictor
from app.ml.runtime import Backend, Runtime
from app.models import Dataset, Job, JobKind, Model
from app.services import acceleration, evaluations, leases
from app.services.acceleration import AccuracyDropTooLarge
from app.services.progress import CountedProgress, JobRefused, LeaseLost


def run(session: Session, settings: Settings, job: Job, lease_token: str) -> None:
    model = session.get(Model, job.model_id) if job.model_id else None
    if model is None:
        raise JobRefused("model_gone", "the model this job scores was deleted before it ran")
    if job.kind is JobKind.evaluate:
        _evaluate(session, settings, job, model, lease_token)
    else:
        _accelerate(session, settings, job, model, lease_token)


def _evaluate(
    session: Session, settings: Settings, job: Job, model: Model, lease_token: str
) -> None:
    dataset = session.get(Dataset, job.dataset_id) if job.dataset_id else None
    if dataset is None:
        raise JobRefused("dataset_gone", f"dataset {job.dataset_id} was deleted")
    try:
        examples = evaluations.examples_to_score(session, model=model, dataset=dataset)
    except Problem as refused:
        raise JobRefused("invalid_dataset", refused.detail) from refused
    progress = CountedProgress(session, job.id, lease_token, len(examples))
    evaluation = evaluations.score(
        _predictor(settings, model, Backend.torch),
        model,
        examples,
        dataset_id=dataset.id,
        kind="dataset",
        on_scored=progress.add,
    )
    session.add(evaluation)
    if not leases.complete(
        session,
        job_id=job.id,
        lease_token=lease_token,
        result={"evaluation_id": evaluation.id},
        progress=progress.latest,
        message=f"evaluation {evaluation.id} of model {model.id} on {dataset.id}",
    ):
        raise LeaseLost(job.id)


def _accelerate(
    session: Session, settings: Settings, job: Job, model: Model, lease_token: str
) -> None:
    asked = job.request or {}
    method = str(asked["method"])
    try:
        examples = acceleration.examples_for(session, model, job.dataset_id)
    except (ValueError, Problem) as refused:
        raise JobRefused("invalid_dataset", str(refused)) from refused
    progress = CountedProgress(session, job.id, lease_token, 2 * len(examples))
    try:
        report = acceleration.measure(
            _predictor(settings, model, Backend.torch),
            _predictor(settings, model, Backend(method)),
            examples,
            method=method,
            dataset_id=job.dataset_id,
            max_accuracy_drop=float(asked["max_accuracy_drop"]),
            on_scored=progress.add,
        )
    except AccuracyDropTooLarge as refused:
        raise JobRefused("accuracy_drop_too_large", str(refused)) from refused
    model.acceleration = report
    if not leases.complete(
        session,
        job_id=job.id,
        lease_token=lease_token,
        result=report,
        progress=progress.latest,
        message=f"model {model.id} is served with {method} now",
    ):
        raise LeaseLost(job.id)


def _predictor(settings: Settings, model: Model, backend: Backend) -> Predictor:
    store = open_store(settings)
    return Predictor.from_pretrained(
        store.fetch(model.artifact_key),
        settings.registered_base_models,
        device=plan_device(settings.device),
        runtime=Runtime(backend, store.graphs_dir),
    )
