"""Typed exceptions built from the service's RFC 9457 problem+json answers."""

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class AdaptdError(Exception):
    """Anything the client raises on purpose."""


class ConfigurationError(AdaptdError):
    """The client lacks what it needs to call the service (its URL or an API key)."""


class ConnectionFailed(AdaptdError):
    """The service could not be reached, or the connection broke, after every retry."""


class JobFailed(AdaptdError):
    """A job the call waited for ended without succeeding; `job` is how it ended."""

    def __init__(self, job: Any) -> None:
        self.job = job
        error = job.error
        reason = f"{error.code}: {error.message}" if error is not None else job.status
        super().__init__(f"job {job.id} {job.status}: {reason}")


@dataclass(frozen=True)
class FieldError:
    """One problem with the request: where (`body.examples[3].label`, `line 7`) and what."""

    location: str
    message: str


class APIError(AdaptdError):
    """The service answered with an error status."""

    def __init__(self, response: httpx.Response, problem: dict[str, Any]) -> None:
        self.status_code = response.status_code
        self.type: str = str(problem.get("type", "about:blank"))
        self.title: str = str(problem.get("title", response.reason_phrase))
        self.detail: str = str(problem.get("detail", response.text[:500]))
        self.problem = problem
        self.response = response
        super().__init__(f"{self.status_code} {self.title}: {self.detail}")


class BadRequest(APIError):
    """400: the request is malformed."""


class Unauthorized(APIError):
    """401: no API key, or one the service does not know (or revoked)."""


class Forbidden(APIError):
    """403: the API key lacks the scope the call needs."""


class NotFound(APIError):
    """404: no such resource in this key's team."""


class Conflict(APIError):
    """409: the resource's state forbids the call now (a job that has ended, an alias in use)."""


class PayloadTooLarge(APIError):
    """413: the upload or request body is over the server's limit."""


class ValidationError(APIError):
    """422: the request names bad fields, rows or lines; `errors` lists each of them."""

    def __init__(self, response: httpx.Response, problem: dict[str, Any]) -> None:
        super().__init__(response, problem)
        self.errors = [
            FieldError(location=str(item.get("location", "")), message=str(item.get("message")))
            for item in problem.get("errors") or []
            if isinstance(item, dict)
        ]
        self.total_errors = int(problem.get("total_errors", len(self.errors)))


class Overloaded(APIError):
    """429 or 503: the service cannot take the call now; `retry_after` says when to try again."""

    def __init__(self, response: httpx.Response, problem: dict[str, Any]) -> None:
        super().__init__(response, problem)
        self.retry_after = retry_after_seconds(response)


class ServerError(APIError):
    """5xx other than 503: the service failed; the call may be retried later."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: Overloaded,
    503: Overloaded,
}


def error_for(response: httpx.Response) -> APIError:
    """The exception for an error answer, with the problem document it carries."""
    problem: dict[str, Any]
    try:
        body = response.json()
        problem = body if isinstance(body, dict) else {"detail": str(body)}
    except ValueError:
        problem = {"detail": response.text[:500] or response.reason_phrase}
    kind = _BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerError if response.status_code >= 500 else APIError
    return kind(response, problem)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds, from either of its forms (delay-seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
