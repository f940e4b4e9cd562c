"""A job's life under its lease: claim, heartbeat, progress, and how it ends.

Every write after the claim is conditional on the lease token and the `running` status, so a
worker that was paused or partitioned cannot overwrite a newer attempt. Writes that move the
work forward also require that nobody asked to cancel it.
"""

import enum
import secrets
import signal
from typing import Any

from sqlalchemy import Update, func, select, text, update
from sqlalchemy.orm import Session

from app.models import Evaluation, Job, JobEvent, JobStatus, Model
from app.services import events, webhook_events
from app.services.queries import database_seconds_ago, rowcount

ROW_LOCK_IDLE_LIMIT_SECONDS = 15
"""How long a transaction that wrote a job's row may sit idle before PostgreSQL ends it. Between
such a write and its commit only a few lines of Python run, so an idle transaction means a
paused or partitioned process (SIGSTOP, a frozen VM); ended, it stops holding the row lock
that the reaper and the next attempt need."""


class Lease(enum.Enum):
    held = "held"
    cancel_requested = "cancel_requested"
    lost = "lost"


def claim(session: Session, *, job_id: str, worker: str) -> str | None:
    """Take a queued job with one conditional update; None means another worker has it."""
    token = secrets.token_hex(16)
    _bound_row_locks(session)
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
        .returning(Job.attempt)
    ).first()
    if claimed is not None:
        message = f"attempt {claimed.attempt} started on {worker}"
        session.add(events.state(job_id, "running", message, attempt=claimed.attempt))
    session.commit()
    return token if claimed is not None else None


def heartbeat(session: Session, *, job_id: str, lease_token: str) -> Lease:
    statement = (
        _leased(job_id, lease_token)
        .values(heartbeat_at=func.now())
        .returning(Job.cancel_requested_at)
    )
    _bound_row_locks(session)
    row = session.execute(statement).first()
    session.commit()
    if row is None:
        return Lease.lost
    return Lease.held if row.cancel_requested_at is None else Lease.cancel_requested


def record_progress(
    session: Session,
    *,
    job_id: str,
    lease_token: str,
    progress: dict[str, Any],
    event: JobEvent | None = None,
) -> bool:
    statement = _working(job_id, lease_token).values(progress=progress, heartbeat_at=func.now())
    return _write(session, statement, event)


def record_values(
    session: Session,
    *,
    job_id: str,
    lease_token: str,
    values: dict[str, Any],
    event: JobEvent | None = None,
) -> bool:
    """Settle columns of the job (what `auto` measured and chose) while the lease is ours."""
    return _write(session, _working(job_id, lease_token).values(**values), event)


def record_device(session: Session, *, job_id: str, lease_token: str, device: str) -> bool:
    event = events.note(job_id, "info", f"training on {device}", device=device)
    return _write(session, _working(job_id, lease_token).values(device=device), event)


def fail(session: Session, *, job_id: str, lease_token: str, code: str, message: str) -> bool:
    statement = _working(job_id, lease_token).values(
        status=JobStatus.failed,
        error_code=code,
        error_message=message[:4000],
        finished_at=func.now(),
        lease_token=None,
    )
    return _write(session, statement, events.state(job_id, "failed", message, code=code))


def succeed(
    session: Session,
    *,
    job_id: str,
    lease_token: str,
    model: Model,
    progress: dict[str, Any],
    evaluation: Evaluation | None = None,
    settled: dict[str, Any] | None = None,
) -> bool:
    """Publish the model (and its validation evaluation) and finish the job in one
    transaction, only while the lease is ours; `settled` holds job columns the run decided."""
    session.add(model)
    session.flush()
    if evaluation is not None:
        session.add(evaluation)
    if not _finish(
        session,
        job_id,
        lease_token,
        f"model {model.id} created",
        {"model_id": model.id},
        metrics=model.metrics,
        model_id=model.id,
        progress=progress,
        **(settled or {}),
    ):
        return False
    webhook_events.emit(
        session,
        team_id=model.team_id,
        type_="model.created",
        data={"model_id": model.id, "job_id": job_id, "strategy": model.strategy},
    )
    session.commit()
    return True


def complete(
    session: Session,
    *,
    job_id: str,
    lease_token: str,
    result: dict[str, Any],
    progress: dict[str, Any],
    message: str,
) -> bool:
    """Finish a scoring job with its result, together with what it changed in the session
    (an evaluation added, a model's acceleration set), only while the lease is ours."""
    session.flush()
    if not _finish(session, job_id, lease_token, message, result, result=result, progress=progress):
        return False
    session.commit()
    return True


def _finish(
    session: Session,
    job_id: str,
    lease_token: str,
    message: str,
    details: dict[str, Any],
    **values: Any,
) -> bool:
    """Mark the job succeeded with `values`, and record its event, only while the lease is
    ours; otherwise roll the session back (nothing it added is kept)."""
    _bound_row_locks(session)
    finished = session.execute(
        _working(job_id, lease_token).values(
            status=JobStatus.succeeded, finished_at=func.now(), lease_token=None, **values
        )
    )
    if rowcount(finished) != 1:
        session.rollback()
        return False
    session.add(events.state(job_id, "succeeded", message, **details))
    session.flush()
    return True


def end_abandoned(
    session: Session, *, job_id: str, lease_token: str, exit_code: int | None
) -> JobStatus | None:
    """After the training process is gone without ending its job: `cancelled` if that was
    asked for, `queued` for another attempt while attempts remain, else `failed`."""
    leased = _leased(job_id, lease_token)
    cancel = leased.where(Job.cancel_requested_at.is_not(None)).values(**_cancelled())
    if _write(session, cancel, events.state(job_id, "cancelled", "cancelled")):
        return JobStatus.cancelled
    crashed = f"the training process {_ending(exit_code)} before finishing the job"
    retry = (
        _working(job_id, lease_token).where(Job.attempt < Job.max_attempts).values(**_requeued())
    )
    if _write(session, retry, events.state(job_id, "queued", f"{crashed}; queued again")):
        return JobStatus.queued
    failed = fail(
        session,
        job_id=job_id,
        lease_token=lease_token,
        code="training_process_crashed",
        message=f"{crashed}, on its last allowed attempt",
    )
    return JobStatus.failed if failed else None


def _ending(exit_code: int | None) -> str:
    """How a training process that did not end its job went, in words an operator acts on."""
    if exit_code is None or exit_code >= 0:
        return (
            f"ended with exit code {exit_code} (an error outside the job's own code, such as "
            "an import failing; the worker's log has the traceback)"
        )
    try:
        name = signal.Signals(-exit_code).name
    except ValueError:
        name = f"signal {-exit_code}"
    cause = ""
    if name == "SIGKILL":
        cause = "; the kernel's out-of-memory killer sends it, as does `kill -9`"
    elif name in NATIVE_CRASHES:
        cause = "; a crash in native code"
    return f"was killed by {name} (exit code {exit_code}{cause})"


NATIVE_CRASHES = frozenset({"SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"})


def release(session: Session, *, job_id: str, lease_token: str, step: int) -> bool:
    """Hand a job back after a clean pause (a worker shutting down); the attempt is not spent."""
    statement = _working(job_id, lease_token).values(**_requeued(), attempt=Job.attempt - 1)
    message = f"paused at step {step} because its worker is shutting down; queued again"
    return _write(session, statement, events.state(job_id, "queued", message, step=step))


STORE_UNREACHED = "the artifact store was unreachable"
MAX_STORE_HAND_BACKS = 10


def requeue_unreached(session: Session, *, job_id: str, lease_token: str, reason: str) -> bool:
    """Hand a job back when the artifact store stayed unreachable for longer than its calls
    retry: not the job's fault, so the attempt is not spent, and the next run resumes from
    the last checkpoint the store holds. After MAX_STORE_HAND_BACKS of them the job fails,
    so that a store that never answers does not keep it cycling."""
    handed_back = session.scalar(
        select(func.count()).where(
            JobEvent.job_id == job_id, JobEvent.message.startswith(STORE_UNREACHED)
        )
    )
    if (handed_back or 0) >= MAX_STORE_HAND_BACKS:
        message = f"{reason}; the job was handed back {handed_back} times for it already"
        return fail(
            session,
            job_id=job_id,
            lease_token=lease_token,
            code="artifact_store_unreachable",
            message=message,
        )
    statement = _working(job_id, lease_token).values(**_requeued(), attempt=Job.attempt - 1)
    message = f"{STORE_UNREACHED} ({reason}); queued again"
    return _write(session, statement, events.state(job_id, "queued", message))


def requeue_expired(session: Session, *, lease_seconds: float) -> list[str]:
    """Jobs whose worker stopped heartbeating go back to `queued` (to be published again),
    `cancelled` if that was asked for, or `failed` after the last attempt. A row that another
    transaction holds is left for a later round rather than waited for."""
    silent = session.scalars(
        select(Job.id)
        .where(
            Job.status == JobStatus.running,
            Job.heartbeat_at < database_seconds_ago(session, lease_seconds),
        )
        .with_for_update(skip_locked=True)
    ).all()
    expired = (Job.status == JobStatus.running, Job.id.in_(silent))
    cancelled = session.scalars(
        update(Job)
        .where(*expired, Job.cancel_requested_at.is_not(None))
        .values(**_cancelled())
        .returning(Job.id)
    ).all()
    session.add_all(events.state(job_id, "cancelled", "cancelled") for job_id in cancelled)
    lost = "the worker stopped heartbeating on the last allowed attempt"
    failed = session.scalars(
        update(Job)
        .where(*expired, Job.attempt >= Job.max_attempts)
        .values(
            status=JobStatus.failed,
            error_code="lease_expired",
            error_message=lost,
            finished_at=func.now(),
            lease_token=None,
        )
        .returning(Job.id)
    ).all()
    session.add_all(events.state(j, "failed", lost, code="lease_expired") for j in failed)
    requeued = session.scalars(
        update(Job).where(*expired).values(**_requeued()).returning(Job.id)
    ).all()
    session.add_all(
        events.state(j, "queued", "the worker stopped heartbeating; queued again") for j in requeued
    )
    session.commit()
    return list(requeued)


def _requeued() -> dict[str, Any]:
    return {
        "status": JobStatus.queued,
        "lease_token": None,
        "worker": None,
        "heartbeat_at": None,
        "published_at": None,
    }


def _cancelled() -> dict[str, Any]:
    return {"status": JobStatus.cancelled, "finished_at": func.now(), "lease_token": None}


def _leased(job_id: str, lease_token: str) -> Update:
    return update(Job).where(
        Job.id == job_id, Job.lease_token == lease_token, Job.status == JobStatus.running
    )


def _working(job_id: str, lease_token: str) -> Update:
    return _leased(job_id, lease_token).where(Job.cancel_requested_at.is_(None))


def _write(session: Session, statement: Update, event: JobEvent | None = None) -> bool:
    _bound_row_locks(session)
    written = rowcount(session.execute(statement)) == 1
    if written and event is not None:
        session.add(event)
    session.commit()
    return written


def _bound_row_locks(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        limit = f"{ROW_LOCK_IDLE_LIMIT_SECONDS * 1000:.0f}"
        session.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {limit}"))
