import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Update, func, select, update
from sqlalchemy.orm import Session

from app.core.ids import new_id
from app.models import Job, JobStatus, Model
from app.services.queries import Page, get_owned, paginate


def create(
    session: Session,
    *,
    team_id: str,
    dataset_id: str,
    strategy: str,
    base_model: str,
    hyperparameters: dict[str, Any],
    validation_split: float | None,
    validation_dataset_id: str | None,
    metadata: dict[str, Any],
) -> Job:
    job = Job(
        id=new_id("job"),
        team_id=team_id,
        dataset_id=dataset_id,
        validation_dataset_id=validation_dataset_id,
        validation_split=validation_split,
        strategy=strategy,
        base_model=base_model,
        hyperparameters=hyperparameters,
        metadata_=metadata,
        status=JobStatus.queued,
        progress={},
        metrics={},
    )
    session.add(job)
    session.flush()
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


def next_queued_id(session: Session) -> str | None:
    statement = select(Job.id).where(Job.status == JobStatus.queued).order_by(Job.id).limit(1)
    return session.scalar(statement)


def delete(session: Session, *, job: Job) -> None:
    session.delete(job)


def claim(session: Session, *, job_id: str, worker: str) -> str | None:
    """Take a queued job with one conditional update; None means another worker has it."""
    token = secrets.token_hex(16)
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.queued)
        .values(
            status=JobStatus.running,
            attempt=Job.attempt + 1,
            lease_token=token,
            heartbeat_at=func.now(),
            started_at=func.now(),
            worker=worker,
        )
    )
    session.commit()
    return token if _rowcount(claimed) == 1 else None


def heartbeat(session: Session, *, job_id: str, lease_token: str) -> bool:
    return _write_under_lease(session, _leased(job_id, lease_token).values(heartbeat_at=func.now()))


def record_progress(
    session: Session, *, job_id: str, lease_token: str, progress: dict[str, Any]
) -> bool:
    statement = _leased(job_id, lease_token).values(progress=progress, heartbeat_at=func.now())
    return _write_under_lease(session, statement)


def record_device(session: Session, *, job_id: str, lease_token: str, device: str) -> bool:
    return _write_under_lease(session, _leased(job_id, lease_token).values(device=device))


def fail(session: Session, *, job_id: str, lease_token: str, code: str, message: str) -> bool:
    statement = _leased(job_id, lease_token).values(
        status=JobStatus.failed,
        error_code=code,
        error_message=message[:4000],
        finished_at=func.now(),
        lease_token=None,
    )
    return _write_under_lease(session, statement)


def succeed(
    session: Session,
    *,
    job_id: str,
    lease_token: str,
    model: Model,
    progress: dict[str, Any],
) -> bool:
    """Publish the model and finish the job in one transaction, only while the lease is ours."""
    session.add(model)
    session.flush()
    finished = session.execute(
        _leased(job_id, lease_token).values(
            status=JobStatus.succeeded,
            metrics=model.metrics,
            model_id=model.id,
            progress=progress,
            finished_at=func.now(),
            lease_token=None,
        )
    )
    if _rowcount(finished) != 1:
        session.rollback()
        return False
    session.commit()
    return True


def requeue_expired(session: Session, *, lease_seconds: float) -> list[str]:
    """Jobs whose worker stopped heartbeating go back to `queued`, or `failed` after the last
    attempt. Returns the requeued ids so that a broker can be told about them."""
    expired = (
        Job.status == JobStatus.running,
        Job.heartbeat_at < _database_seconds_ago(session, lease_seconds),
    )
    session.execute(
        update(Job)
        .where(*expired, Job.attempt >= Job.max_attempts)
        .values(
            status=JobStatus.failed,
            error_code="lease_expired",
            error_message="the worker stopped heartbeating on the last allowed attempt",
            finished_at=func.now(),
            lease_token=None,
        )
    )
    requeued = list(session.scalars(select(Job.id).where(*expired)))
    if requeued:
        session.execute(
            update(Job)
            .where(Job.id.in_(requeued), *expired)
            .values(status=JobStatus.queued, lease_token=None, worker=None, heartbeat_at=None)
        )
    session.commit()
    return requeued


def _database_seconds_ago(session: Session, seconds: float) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return func.datetime("now", f"-{seconds:.3f} seconds")
    return func.now() - timedelta(seconds=seconds)


def _leased(job_id: str, lease_token: str) -> Update:
    return update(Job).where(
        Job.id == job_id, Job.lease_token == lease_token, Job.status == JobStatus.running
    )


def _write_under_lease(session: Session, statement: Update) -> bool:
    written = _rowcount(session.execute(statement)) == 1
    session.commit()
    return written


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
