from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]


class ErrorItem(BaseModel):
    location: str = Field(description="The field, row or line at fault, e.g. 'line 17'.")
    message: str


class ProblemDetail(BaseModel):
    """An RFC 9457 problem document, served as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ErrorItem] | None = None
    total_errors: int | None = None


PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ProblemDetail, "content": {"application/problem+json": {}}}
    for status in (400, 401, 403, 404, 409, 413, 415, 422)
}

OVERLOADED_RESPONSE: dict[str, object] = {
    "model": ProblemDetail,
    "content": {"application/problem+json": {}},
    "description": "Overloaded: the model's queue is full or the request timed out.",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "schema": {"type": "integer"},
        }
    },
}
