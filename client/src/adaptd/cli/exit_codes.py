"""What `adaptd` exits with, so that a script can tell failures apart."""

from enum import IntEnum

from adaptd.client.errors import (
    AdaptdError,
    BadRequest,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    Unauthorized,
    ValidationError,
)
from adaptd.client.waiting import WaitTimeout


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # anything not listed below, e.g. the service failed (5xx)
    USAGE = 2  # bad command line, or missing configuration (URL, API key)
    INVALID = 3  # the service refused the request as invalid (400, 413, 422)
    NOT_FOUND = 4
    CONFLICT = 5  # the resource's state forbids it now (409)
    UNAUTHORIZED = 6  # no or unknown API key (401), or a missing scope (403)
    UNAVAILABLE = 7  # unreachable, or overloaded (429/503) after every retry
    JOB_FAILED = 8  # the job that was waited for ended failed or cancelled
    TIMED_OUT = 9  # the wait ran out before the job ended
    INTERRUPTED = 130  # Ctrl-C


_BY_ERROR: list[tuple[type[AdaptdError], ExitCode]] = [
    (ConfigurationError, ExitCode.USAGE),
    (ValidationError, ExitCode.INVALID),
    (BadRequest, ExitCode.INVALID),
    (PayloadTooLarge, ExitCode.INVALID),
    (NotFound, ExitCode.NOT_FOUND),
    (Conflict, ExitCode.CONFLICT),
    (Unauthorized, ExitCode.UNAUTHORIZED),
    (Forbidden, ExitCode.UNAUTHORIZED),
    (Overloaded, ExitCode.UNAVAILABLE),
    (ConnectionFailed, ExitCode.UNAVAILABLE),
    (WaitTimeout, ExitCode.TIMED_OUT),
]


def exit_code_for(error: AdaptdError) -> ExitCode:
    for kind, code in _BY_ERROR:
        if isinstance(error, kind):
            return code
    return ExitCode.ERROR
