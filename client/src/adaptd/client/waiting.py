"""Waiting for a job: following its event stream across dropped connections, within a time
limit. The sync and async clients run the same `Follow` and differ only in how they wait."""

import time

import httpx
from httpx_sse import ServerSentEvent

from adaptd.client import api
from adaptd.client.calls import Call, nothing
from adaptd.client.errors import AdaptdError, ConnectionFailed
from adaptd.client.retries import Retries
from adaptd.client.types import Job
from adaptd.client.updates import JobUpdate, ProgressCallback

STREAM_TIMEOUT_SECONDS = 60.0


class WaitTimeout(AdaptdError):
    """The job had not ended when `wait`'s timeout ran out; it goes on running."""


class Follow:
    """One `wait`: the latest update, the last event id to resume after, the breaks so far."""

    def __init__(
        self,
        job: Job,
        retries: Retries,
        on_progress: ProgressCallback | None,
        timeout: float | None,
    ) -> None:
        self.job_id = job.id
        self.retries = retries
        self.on_progress = on_progress
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.update = JobUpdate.of(job)
        self.last_event_id: str | None = None
        self.broken = 0
        self._report()

    def call(self) -> Call[None]:
        """The stream request, resuming after the last event seen; a read may wait for the
        keep-alive the service sends every 15 seconds, and never past the deadline."""
        self.check()
        read_timeout = STREAM_TIMEOUT_SECONDS
        if self.deadline is not None:
            read_timeout = max(0.1, min(read_timeout, self.deadline - time.monotonic()))
        return Call(
            "GET",
            api.job_event_stream_path(self.job_id),
            nothing,
            headers={"Last-Event-ID": self.last_event_id} if self.last_event_id else {},
            timeout=read_timeout,
        )

    def receive(self, message: ServerSentEvent) -> None:
        self.check()
        if not message.data:  # a keep-alive comment, not an event
            return
        self.broken = 0
        self.last_event_id = message.id or self.last_event_id
        self.update = self.update.after(message)
        self._report()

    def broke(self, error: httpx.TransportError | ConnectionFailed) -> float:
        """How long to wait before resuming a broken stream; raises once the retries are
        spent. The stream is resumed even if the job ended meanwhile: its last events are
        still to come."""
        self.check()
        self.broken += 1
        if self.broken > self.retries.attempts:
            message = f"the event stream of {self.job_id} broke: {error}"
            raise ConnectionFailed(message) from error
        return self.retries.delay(self.broken - 1)

    def reopen_delay(self) -> float:
        """The stream closed before the job ended: reopen it, but not at once."""
        return self.retries.delay(0)

    def check(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise WaitTimeout(
                f"job {self.job_id} has not ended yet; it is still running on the service"
            )

    def _report(self) -> None:
        if self.on_progress:
            self.on_progress(self.update)
