"""Jobs that score a model, as a team asks for them: checked here (422 naming the field),
then queued within the team's `active_jobs` quota and run by a worker (see `scoring`)."""

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.problems import ValidationFailed
from app.models import Job, JobKind, Model
from app.services import acceleration, datasets, evaluations, jobs, quotas
from app.services.quotas import Quota


def submit_evaluation(
    session: Session, *, settings: Settings, model: Model, dataset_id: str
) -> Job:
    dataset = datasets.get(session, team_id=model.team_id, dataset_id=dataset_id)
    if dataset is None:
        message = f"dataset {dataset_id} not found"
        raise ValidationFailed(message, errors=[{"location": "dataset_id", "message": message}])
    evaluations.check_scorable(model, dataset)
    return _submit(session, settings, model, JobKind.evaluate, dataset.id, {})


def submit_acceleration(
    session: Session,
    *,
    settings: Settings,
    model: Model,
    method: str,
    dataset_id: str | None,
    max_accuracy_drop: float,
) -> Job:
    acceleration.check_request(session, model=model, method=method, dataset_id=dataset_id)
    asked = {"method": method, "max_accuracy_drop": max_accuracy_drop}
    return _submit(session, settings, model, JobKind.accelerate, dataset_id, asked)


def _submit(
    session: Session,
    settings: Settings,
    model: Model,
    kind: JobKind,
    dataset_id: str | None,
    asked: dict[str, object],
) -> Job:
    quotas.check_room(session, settings=settings, team_id=model.team_id, quota=Quota.active_jobs)
    job = jobs.create(
        session,
        team_id=model.team_id,
        kind=kind,
        request=asked,
        model_id=model.id,
        dataset_id=dataset_id,
        strategy=model.strategy,
        base_model=model.base_model,
        hyperparameters={},
        validation_split=None,
        validation_dataset_id=None,
        metadata={},
    )
    session.flush()
    return job
