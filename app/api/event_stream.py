"""Server-sent events for one job: its event log as it grows, until the job has ended.

Logged events carry their sequence as the SSE `id`, so `Last-Event-ID` resumes after them.
Between them, a `progress` event (no `id`: it is a snapshot, not part of the log) is sent
whenever the job's status or progress (step, epoch, loss, ETA) has changed.

A stream is bounded: it ends after `event_stream_max_seconds` (the client resumes with
`Last-Event-ID`), within `event_stream_key_check_seconds` of its key being revoked, and each
key may hold only `event_stream_max_per_key` open streams on one API process."""

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from fastapi.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.db import new_session
from app.core.problems import TooManyRequests
from app.models import Job, JobEvent
from app.schemas.job import JobEventPublic
from app.services import events, teams

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


class StreamSlots:
    """Open streams per API key in this process."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, key_id: str) -> None:
        with self._lock:
            if self._open[key_id] >= self.per_key:
                raise TooManyRequests(
                    f"this API key already has {self.per_key} event streams open; close one, "
                    "or poll GET /v1/jobs/{id}/events",
                    retry_after_seconds=5,
                )
            self._open[key_id] += 1

    def give_back(self, key_id: str) -> None:
        with self._lock:
            self._open[key_id] -= 1
            if self._open[key_id] <= 0:
                del self._open[key_id]


async def job_event_stream(
    settings: Settings, job_id: str, after: int | None, *, key_id: str, slots: StreamSlots
) -> AsyncIterator[str]:
    """The stream; it holds one of the key's slots (taken by the caller) until it ends."""
    try:
        async for chunk in _stream(settings, job_id, after, key_id):
            yield chunk
    finally:
        slots.give_back(key_id)


async def _stream(
    settings: Settings, job_id: str, after: int | None, key_id: str
) -> AsyncIterator[str]:
    quiet = 0.0
    snapshot: dict[str, Any] | None = None
    started = time.monotonic()
    key_checked = started
    while time.monotonic() - started < settings.event_stream_max_seconds:
        if time.monotonic() - key_checked >= settings.event_stream_key_check_seconds:
            key_checked = time.monotonic()
            if not await run_in_threadpool(_key_is_active, settings, key_id):
                return
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


def _key_is_active(settings: Settings, key_id: str) -> bool:
    with new_session(settings) as session:
        return teams.is_active(session, key_id=key_id)


def _poll(
    settings: Settings, job_id: str, after: int | None
) -> tuple[list[JobEventPublic], dict[str, Any] | None, bool]:
    with new_session(settings) as session:
        job = session.get(Job, job_id)
        ended = job is None or job.status.is_terminal
        page = events.get_page(session, job_id=job_id, after=after, limit=100)
        latest = None if job is None else {"status": job.status.value, "progress": job.progress}
        return [event_public(event) for event in page.items], latest, ended
