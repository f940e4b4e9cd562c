import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from app.core.problems import (
    HttpProblem,
    InvalidDataset,
    Problem,
    ServiceUnavailable,
    ValidationFailed,
)
from app.core.storage import ArtifactStoreUnavailable
from app.services.dataset_files import RowError, UnreadableFile
from app.services.dataset_validation import DatasetRejected

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_response(problem: Problem, max_errors: int = 50) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors[:max_errors]
        body.setdefault("total_errors", len(problem.errors))
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=PROBLEM_JSON)


def format_location(loc: tuple[int | str, ...]) -> str:
    source, *path = loc or ("body",)
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    if source == "body":
        return text or "body"
    return f"{source} parameter {text}" if text else str(source)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    return [_validation_error(item) for item in errors]


def _validation_error(item: dict[str, Any]) -> dict[str, str]:
    location = tuple(item["loc"])
    if item["type"] == "json_invalid" and len(location) == 2:
        reason = item.get("ctx", {}).get("error", "malformed JSON")
        return {"location": "body", "message": f"invalid JSON at character {location[1]}: {reason}"}
    return {"location": format_location(location), "message": item["msg"]}


def _dataset_problem(errors: list[RowError], total: int) -> InvalidDataset:
    return InvalidDataset(
        f"{total} problem(s) found; nothing was stored. Fix them and upload again.",
        errors=[error.as_dict() for error in errors],
        total_errors=total,
    )


def allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document lists for this path (Starlette names one route's)."""
    for template, operations in request.app.openapi()["paths"].items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^/}]+\})", template)
        )
        if re.fullmatch(pattern, request.url.path):
            return sorted(method.upper() for method in operations)
    return []


def install_error_handlers(app: FastAPI) -> None:
    max_errors = app.state.settings.max_reported_errors

    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, max_errors)

    async def on_request_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc.errors())
        summary = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:3])
        return problem_response(ValidationFailed(summary, errors=errors), max_errors)

    async def on_rejected_dataset(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DatasetRejected)
        return problem_response(_dataset_problem(exc.errors, exc.total), max_errors)

    async def on_unreadable_file(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UnreadableFile)
        return problem_response(_dataset_problem([RowError(exc.location, str(exc))], 1), max_errors)

    async def on_store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        logger.warning("answered 503: %s", exc)
        problem = ServiceUnavailable(
            "the artifact store is unreachable; try again shortly", headers={"Retry-After": "10"}
        )
        return problem_response(problem)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(HttpProblem(exc.status_code, str(exc.detail), headers))

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return problem_response(HttpProblem(500, "an unexpected error occurred; it was logged"))

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(DatasetRejected, on_rejected_dataset)
    app.add_exception_handler(UnreadableFile, on_unreadable_file)
    app.add_exception_handler(ArtifactStoreUnavailable, on_store_unavailable)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
