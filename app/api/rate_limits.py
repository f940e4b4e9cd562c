"""Requests per minute per API key, counted by the `limits` library: in this process
(`memory://`, the default) or shared by every replica (`redis://…`, set
ADAPTD_RATE_LIMIT_STORAGE_URL). When a shared store cannot be reached requests are let through
and a warning is logged: a broken counter must not take the service down."""

import logging
import math
import time

from limits import RateLimitItemPerMinute, storage, strategies

from app.core.problems import TooManyRequests

logger = logging.getLogger(__name__)


class KeyRates:
    def __init__(self, storage_url: str) -> None:
        self.in_process = storage_url.startswith("memory://")
        self._limiter = strategies.SlidingWindowCounterRateLimiter(
            storage.storage_from_string(storage_url)
        )

    def hit(self, key_id: str, per_minute: int) -> None:
        """Count one request; over the limit, answer 429 with the seconds until there is room."""
        item = RateLimitItemPerMinute(per_minute)
        try:
            if self._limiter.hit(item, "key", key_id):
                return
            reset_at = self._limiter.get_window_stats(item, "key", key_id).reset_time
        except Exception:
            logger.warning("the rate limit store cannot be reached; not counting", exc_info=True)
            return
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"this API key made {per_minute} requests in the last minute, its team's limit "
            f"(requests_per_minute); try again in {retry_after} s",
            retry_after_seconds=retry_after,
            quota="requests_per_minute",
            limit=per_minute,
        )
