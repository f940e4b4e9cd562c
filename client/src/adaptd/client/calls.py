"""One API call, described once and sent by either client: its method, path, body and how its
answer is read. Every POST carries an Idempotency-Key made when the call is made, so each retry
of it repeats the same key and the service does the work once: every call is safe to retry
(GET, PUT, PATCH and DELETE are idempotent already)."""

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

Result = TypeVar("Result")
Item = TypeVar("Item", bound=BaseModel)

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Call(Generic[Result]):
    method: str
    path: str
    read: Callable[[httpx.Response], Result]
    params: Mapping[str, str | int] | None = None
    json: Any = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    data: Mapping[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    authenticated: bool = True
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.method == "POST":
            self.headers.setdefault(IDEMPOTENCY_HEADER, f"adaptd-{uuid.uuid4()}")


@dataclass(frozen=True)
class Page(Generic[Item]):
    data: list[Item]
    has_more: bool

    def __iter__(self) -> Iterator[Item]:
        return iter(self.data)


def reader(kind: type[Item]) -> Callable[[httpx.Response], Item]:
    return lambda response: kind.model_validate(response.json())


def page_reader(kind: type[Item]) -> Callable[[httpx.Response], Page[Item]]:
    items = TypeAdapter(list[kind])  # type: ignore[valid-type]

    def read(response: httpx.Response) -> Page[Item]:
        body = response.json()
        return Page(data=items.validate_python(body["data"]), has_more=bool(body["has_more"]))

    return read


def nothing(_response: httpx.Response) -> None:
    return None


def get(path: str, kind: type[Item], params: Mapping[str, str | int] | None = None) -> Call[Item]:
    return Call("GET", path, reader(kind), params=params)


def post(path: str, kind: type[Item], body: Any = None) -> Call[Item]:
    return Call("POST", path, reader(kind), json=body)


def put(path: str, kind: type[Item], body: Any) -> Call[Item]:
    return Call("PUT", path, reader(kind), json=body)


def patch(path: str, kind: type[Item], body: Any) -> Call[Item]:
    return Call("PATCH", path, reader(kind), json=body)


def delete(path: str) -> Call[None]:
    return Call("DELETE", path, nothing)


def list_page(
    path: str, kind: type[Item], *, after: str | None, limit: int, **filters: str | None
) -> Call[Page[Item]]:
    params: dict[str, str | int] = {"limit": limit}
    if after is not None:
        params["after"] = after
    params.update({name: value for name, value in filters.items() if value is not None})
    return Call("GET", path, page_reader(kind), params=params)


def without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}
