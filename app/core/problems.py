from http import HTTPStatus
from typing import Any


class Problem(Exception):
    """An error answered as application/problem+json (RFC 9457) with a stable type."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Unauthorized"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(Problem):
    status, slug, title = 422, "validation-error", "Validation failed"


class InvalidDataset(Problem):
    status, slug, title = 422, "invalid-dataset", "Invalid dataset"


class ServiceUnavailable(Problem):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


class HttpProblem(Problem):
    """A problem for a bare HTTP status (unknown route, wrong method, unexpected error)."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers=headers)
        self.status = status
        self.title = HTTPStatus(status).phrase
        self.slug = self.title.lower().replace(" ", "-")


class Overloaded(Problem):
    """The server cannot take the request now; `Retry-After` says when to try again."""

    status, slug, title = 503, "overloaded", "Overloaded"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


class TooManyRequests(Problem):
    """This key (or team) is over one of its limits; `Retry-After` says when to try again."""

    status, slug, title = 429, "too-many-requests", "Too many requests"

    def __init__(self, detail: str, *, retry_after_seconds: int, **extra: Any) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)}, **extra)


class QuotaExceeded(Problem):
    """The team holds as many of something as its quota allows; waiting will not help."""

    status, slug, title = 409, "quota-exceeded", "Quota exceeded"
