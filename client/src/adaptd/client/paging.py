"""Iterate over every item of a paged list, fetching the next page only when it is reached."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from pydantic import BaseModel

from adaptd.client.calls import Call, Page

Item = TypeVar("Item", bound=BaseModel)
PageCall = Callable[[str | None], Call[Page[Item]]]


def cursor_of(item: BaseModel) -> str:
    """Lists page with `after` = the last item's id (a job's events by their sequence)."""
    identifier = getattr(item, "id", None) or getattr(item, "sequence", None)
    if identifier is None:
        raise TypeError(f"{type(item).__name__} has no id to page by")
    return str(identifier)


class Pager(Generic[Item]):
    def __init__(self, send: Callable[[Call[Page[Item]]], Page[Item]], page: PageCall[Item]):
        self._send = send
        self._page = page

    def __iter__(self) -> Iterator[Item]:
        after: str | None = None
        while True:
            page = self._send(self._page(after))
            yield from page.data
            if not page.has_more or not page.data:
                return
            after = cursor_of(page.data[-1])


class AsyncPager(Generic[Item]):
    def __init__(
        self,
        send: Callable[[Call[Page[Item]]], Awaitable[Page[Item]]],
        page: PageCall[Item],
    ):
        self._send = send
        self._page = page

    async def __aiter__(self) -> AsyncIterator[Item]:
        after: str | None = None
        while True:
            page = await self._send(self._page(after))
            for item in page.data:
                yield item
            if not page.has_more or not page.data:
                return
            after = cursor_of(page.data[-1])
