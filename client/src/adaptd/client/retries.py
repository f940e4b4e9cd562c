"""When to send a call again: after a broken connection, a 429 or a 503 (and the gateway errors
502 and 504), with exponential backoff and full jitter, never sooner than `Retry-After`."""

import random
from dataclasses import dataclass

import httpx

from adaptd.client.errors import retry_after_seconds

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Retries:
    """`attempts` retries at most; the n-th waits a random time up to `backoff * 2**n` seconds
    (capped at `max_backoff`), or what the service's `Retry-After` asks if that is longer."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 120.0

    def next_delay(self, retry: int, response: httpx.Response | None = None) -> float | None:
        """How long to wait before sending again after the `retry`-th attempt broke (no
        `response`) or was answered with a retryable status; None when the answer stands or
        the retries are spent."""
        if retry >= self.attempts:
            return None
        if response is not None and response.status_code not in RETRY_STATUSES:
            return None
        return self.delay(retry, response)

    def delay(self, retry: int, response: httpx.Response | None = None) -> float:
        jittered = random.uniform(0, min(self.max_backoff, self.backoff * 2**retry))
        asked = retry_after_seconds(response) if response is not None else None
        if asked is None:
            return jittered
        return max(jittered, min(asked, self.max_retry_after))


NO_RETRIES = Retries(attempts=0)
