"""Waiting for a job: the event stream call and the time limits on it."""

import time

from adaptd.client import api
from adaptd.client.calls import Call, nothing
from adaptd.client.errors import AdaptdError

STREAM_TIMEOUT_SECONDS = 60.0


class WaitTimeout(AdaptdError):
    """The job had not ended when `wait`'s timeout ran out; it goes on running."""


def check(deadline: float | None, job_id: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise WaitTimeout(f"job {job_id} has not ended yet; it is still running on the service")


def stream_timeout(deadline: float | None) -> float:
    """How long one read of the event stream may wait: the service sends a keep-alive every
    15 seconds, so a longer silence is a broken connection; and never past the deadline."""
    if deadline is None:
        return STREAM_TIMEOUT_SECONDS
    return max(0.1, min(STREAM_TIMEOUT_SECONDS, deadline - time.monotonic()))


def stream_call(job_id: str, last_event_id: str | None, deadline: float | None) -> Call[None]:
    return Call(
        "GET",
        api.job_event_stream_path(job_id),
        nothing,
        headers={"Last-Event-ID": last_event_id} if last_event_id else {},
        timeout=stream_timeout(deadline),
    )
