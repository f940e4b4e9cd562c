"""Checks a job request against the team's data and the registered base models."""

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.problems import ValidationFailed
from app.models import Job
from app.schemas.job import JobCreate
from app.services import datasets, jobs

DEFAULT_VALIDATION_SPLIT = 0.1


def submit(session: Session, *, team_id: str, request: JobCreate, settings: Settings) -> Job:
    dataset = datasets.get(session, team_id=team_id, dataset_id=request.dataset_id)
    if dataset is None:
        raise _invalid("dataset_id", f"dataset {request.dataset_id} not found")
    base_model = request.base_model or settings.default_base_model
    if base_model not in settings.registered_base_models:
        known = sorted(settings.registered_base_models)
        raise _invalid("base_model", f"unknown base model {base_model!r}; known: {known}")
    validation_split = request.validation_split
    if request.validation_dataset_id is not None:
        validation = datasets.get(
            session, team_id=team_id, dataset_id=request.validation_dataset_id
        )
        if validation is None:
            raise _invalid(
                "validation_dataset_id", f"dataset {request.validation_dataset_id} not found"
            )
        unknown = sorted(set(validation.label_counts) - set(dataset.label_counts))
        if unknown:
            raise _invalid(
                "validation_dataset_id",
                f"labels {unknown} are not in the training dataset {dataset.id}",
            )
    elif validation_split is None:
        validation_split = DEFAULT_VALIDATION_SPLIT
    job = jobs.create(
        session,
        team_id=team_id,
        dataset_id=dataset.id,
        strategy=request.strategy,
        base_model=base_model,
        hyperparameters=request.hyperparameters.model_dump(),
        validation_split=validation_split,
        validation_dataset_id=request.validation_dataset_id,
        metadata=request.metadata,
        max_attempts=request.max_attempts,
    )
    session.commit()
    return job


def _invalid(location: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"location": location, "message": message}])
