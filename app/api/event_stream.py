"""Server-sent events for one job: its event log as it grows, until the job has ended.

Logged events carry their sequence as the SSE `id`, so `Last-Event-ID` resumes after them.
Between them, a `progress` event (no `id`: it is a snapshot, not part of the log) is sent
whenever the job's status or progress (step, epoch, loss, ETA) has changed."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.db import new_session
from app.models import Job, JobEvent
from app.schemas.job import JobEventPublic
from app.services import events

POLL_SECONDS = 0.5
KEEP_ALIVE_SECONDS = 15.0


def event_public(event: JobEvent) -> JobEventPublic:
    return JobEventPublic(
        sequence=event.id,
        type=event.type,
        message=event.message,
        data=event.data,
        created_at=event.created_at,
    )


async def job_event_stream(
    settings: Settings, job_id: str, after: int | None
) -> AsyncIterator[str]:
    quiet = 0.0
    snapshot: dict[str, Any] | None = None
    while True:
        fresh, latest, ended = await run_in_threadpool(_poll, settings, job_id, after)
        for event in fresh:
            after = event.sequence
            payload = json.dumps(event.model_dump(mode="json"))
            yield f"id: {event.sequence}\nevent: {event.type}\ndata: {payload}\n\n"
        if latest != snapshot:
            snapshot = latest
            yield f"event: progress\ndata: {json.dumps(latest)}\n\n"
        if ended and not fresh:
            return
        quiet = 0.0 if fresh else quiet + POLL_SECONDS
        if quiet >= KEEP_ALIVE_SECONDS:
            quiet = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(0 if fresh else POLL_SECONDS)


def _poll(
    settings: Settings, job_id: str, after: int | None
) -> tuple[list[JobEventPublic], dict[str, Any] | None, bool]:
    with new_session(settings) as session:
        job = session.get(Job, job_id)
        ended = job is None or job.status.is_terminal
        page = events.get_page(session, job_id=job_id, after=after, limit=100)
        latest = None if job is None else {"status": job.status.value, "progress": job.progress}
        return [event_public(event) for event in page.items], latest, ended
