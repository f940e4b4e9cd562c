from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.ids import new_id
from app.models import Job, JobKind, JobStatus
from app.services import events
from app.services.queries import Page, get_owned, paginate, rowcount


def create(
    session: Session,
    *,
    team_id: str,
    dataset_id: str | None,
    strategy: str,
    base_model: str,
    hyperparameters: dict[str, Any],
    requested_strategy: str | None = None,
    strategy_reason: str | None = None,
    init_from_model_id: str | None = None,
    budget: str = "standard",
    budget_seconds: int | None = None,
    search: dict[str, Any] | None = None,
    label_descriptions: dict[str, str] | None = None,
    validation_split: float | None,
    validation_dataset_id: str | None,
    metadata: dict[str, Any],
    max_attempts: int = 3,
    kind: JobKind = JobKind.train,
    request: dict[str, Any] | None = None,
    model_id: str | None = None,
) -> Job:
    job = Job(
        id=new_id("job"),
        team_id=team_id,
        kind=kind,
        request=request,
        model_id=model_id,
        dataset_id=dataset_id,
        validation_dataset_id=validation_dataset_id,
        validation_split=validation_split,
        strategy=strategy,
        requested_strategy=requested_strategy or strategy,
        strategy_reason=strategy_reason,
        init_from_model_id=init_from_model_id,
        budget=budget,
        budget_seconds=budget_seconds,
        search=search,
        label_descriptions=label_descriptions,
        base_model=base_model,
        hyperparameters=hyperparameters,
        metadata_=metadata,
        max_attempts=max_attempts,
        status=JobStatus.queued,
        progress={},
        metrics={},
    )
    session.add(job)
    session.flush()
    session.add(events.state(job.id, "queued", "job queued"))
    return job


def get(session: Session, *, team_id: str, job_id: str) -> Job | None:
    return get_owned(session, Job, team_id=team_id, id_=job_id)


def get_all(
    session: Session,
    *,
    team_id: str,
    limit: int,
    after: str | None,
    status: JobStatus | None = None,
) -> Page[Job]:
    statement = select(Job).where(Job.team_id == team_id)
    if status is not None:
        statement = statement.where(Job.status == status)
    return paginate(session, statement, Job.id, limit=limit, after=after)


def delete(session: Session, *, job: Job) -> None:
    session.delete(job)


def request_cancel(session: Session, *, job: Job) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop, and its supervisor
    ends it `cancelled` within a heartbeat."""
    cancelled = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status == JobStatus.queued)
        .values(
            status=JobStatus.cancelled,
            cancel_requested_at=func.now(),
            finished_at=func.now(),
            lease_token=None,
        )
    )
    if rowcount(cancelled):
        session.add(events.state(job.id, "cancelled", "cancelled before it started"))
    asked = session.execute(
        update(Job)
        .where(
            Job.id == job.id,
            Job.status == JobStatus.running,
            Job.cancel_requested_at.is_(None),
        )
        .values(cancel_requested_at=func.now())
    )
    if rowcount(asked):
        session.add(events.note(job.id, "info", "cancel requested; stopping the training"))
    session.flush()
    session.refresh(job)
    return job


def count_by_status(session: Session) -> dict[str, int]:
    """Jobs of every team by status; a status no job has counts 0."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    counts = {status.value: 0 for status in JobStatus}
    counts.update({str(status): int(count) for status, count in rows})
    return counts
