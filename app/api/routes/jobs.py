from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.api.deps import AfterQuery, JobDep, LimitQuery, ReadKey, SessionDep, SettingsDep, WriteKey
from app.api.event_stream import event_public, job_event_stream
from app.api.idempotency import IdempotencyKey, run_once
from app.core.problems import Conflict
from app.core.queue import publish_training
from app.models import Job, JobStatus
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.job import (
    AutoDecision,
    JobCreate,
    JobError,
    JobEventsPublic,
    JobProgress,
    JobPublic,
    JobsPublic,
    SearchPublic,
)
from app.services import dispatch, events, job_requests, jobs
from app.services.idempotency import fingerprint

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=PROBLEM_RESPONSES)


def to_public(job: Job) -> JobPublic:
    error = (
        JobError(code=job.error_code, message=job.error_message or "") if job.error_code else None
    )
    return JobPublic(
        id=job.id,
        kind=job.kind.value,
        status=job.status.value,
        dataset_id=job.dataset_id,
        validation_dataset_id=job.validation_dataset_id,
        validation_split=job.validation_split,
        strategy=job.strategy,
        requested_strategy=job.requested_strategy,
        strategy_reason=job.strategy_reason,
        init_from_model_id=job.init_from_model_id,
        budget=job.budget,
        budget_seconds=job.budget_seconds,
        auto=AutoDecision.model_validate(job.auto_decision) if job.auto_decision else None,
        search=SearchPublic.model_validate(job.search) if job.search else None,
        base_model=job.base_model,
        hyperparameters=job.hyperparameters,
        label_descriptions=job.label_descriptions,
        metadata=job.metadata_,
        progress=JobProgress.model_validate(job.progress),
        metrics=job.metrics,
        error=error,
        model_id=job.model_id,
        request=job.request,
        result=job.result,
        attempt=job.attempt,
        max_attempts=job.max_attempts,
        device=job.device,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        cancel_requested_at=job.cancel_requested_at,
    )


@router.post("", status_code=202, response_model=JobPublic)
def create_job(
    body: JobCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: WriteKey,
    idempotency_key: IdempotencyKey = None,
) -> JobPublic | JSONResponse:
    """Queue a fine-tuning job; poll GET /v1/jobs/{id} until it succeeds or fails."""

    def submit() -> JobPublic:
        job = job_requests.submit(session, team_id=key.team_id, request=body, settings=settings)
        session.commit()
        celery = request.app.state.celery
        if celery is not None:
            dispatch.publish_due(session, settings=settings, send=partial(publish_training, celery))
        return to_public(job)

    return run_once(
        session,
        key=idempotency_key,
        team_id=key.team_id,
        scope="POST /v1/jobs",
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        status_code=202,
        work=submit,
        settings=settings,
    )


@router.get("", response_model=JobsPublic)
def list_jobs(
    session: SessionDep,
    key: ReadKey,
    limit: LimitQuery = 20,
    after: AfterQuery = None,
    status: JobStatus | None = None,
) -> JobsPublic:
    page = jobs.get_all(session, team_id=key.team_id, limit=limit, after=after, status=status)
    return JobsPublic(data=[to_public(job) for job in page.items], has_more=page.has_more)


@router.get("/{job_id}", response_model=JobPublic)
def get_job(job: JobDep) -> JobPublic:
    return to_public(job)


@router.post("/{job_id}/cancel", response_model=JobPublic)
def cancel_job(
    job: JobDep,
    session: SessionDep,
    settings: SettingsDep,
    key: WriteKey,
    idempotency_key: IdempotencyKey = None,
) -> JobPublic | JSONResponse:
    """Cancel a job: a queued one at once, a running one within a heartbeat interval."""

    def cancel() -> JobPublic:
        if job.status.is_terminal:
            raise Conflict(f"job {job.id} already ended {job.status.value}; nothing to cancel")
        cancelled = jobs.request_cancel(session, job=job)
        session.commit()
        return to_public(cancelled)

    return run_once(
        session,
        key=idempotency_key,
        team_id=key.team_id,
        scope="POST /v1/jobs/{id}/cancel",
        request_fingerprint=fingerprint(job.id),
        status_code=200,
        work=cancel,
        settings=settings,
    )


@router.get("/{job_id}/events", response_model=JobEventsPublic)
def list_job_events(
    job: JobDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int | None, Query(ge=0, description="The last sequence seen.")] = None,
) -> JobEventsPublic:
    """The job's history, oldest first: state changes, epoch metrics, warnings and errors."""
    page = events.get_page(session, job_id=job.id, after=after, limit=limit)
    return JobEventsPublic(data=[event_public(e) for e in page.items], has_more=page.has_more)


@router.get(
    "/{job_id}/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def stream_job_events(
    job: JobDep,
    request: Request,
    settings: SettingsDep,
    key: ReadKey,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
) -> StreamingResponse:
    """Server-sent events: every event from `Last-Event-ID` on, live, closed once the job
    has ended, after at most `ADAPTD_EVENT_STREAM_MAX_SECONDS` (reconnect with
    `Last-Event-ID`), or soon after the key is revoked. 429 when the key already holds
    `ADAPTD_EVENT_STREAM_MAX_PER_KEY` streams."""
    slots = request.app.state.stream_slots
    slots.take(key.id)
    return StreamingResponse(
        job_event_stream(settings, job.id, last_event_id, key_id=key.id, slots=slots),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.delete("/{job_id}", status_code=204)
def delete_job(job: JobDep, session: SessionDep, _key: WriteKey) -> Response:
    if not job.status.is_terminal:
        raise Conflict(f"job {job.id} is {job.status.value}; only finished jobs can be deleted")
    jobs.delete(session, job=job)
    session.commit()
    return Response(status_code=204)
