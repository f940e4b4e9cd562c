"""What a predict request looks up before it can be scored (its API key, then the model or
alias it names), kept for a moment so that a stream of requests does not query the database
for each one.

An answer is kept for `ttl_seconds` at most: a key revoked or an alias moved by another
process (a replica, the job runner) takes effect within that time. A write committed by this
process clears every cache at once, so what this process changes takes effect at the next
request.

Requests that miss the same answer while it is being looked up wait for that one lookup: under
load an expired answer costs one query, not one per request waiting."""

import asyncio
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

V = TypeVar("V")
MAX_ENTRIES = 10_000
_WROTE = "adaptd_wrote"


class LookupCache(Generic[V]):
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        self._looking_up: dict[Hashable, asyncio.Future[V]] = {}
        _caches.add(self)

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self.clock() >= expires:
            self._entries.pop(key, None)
            return None
        return value

    async def get_or_look_up(self, key: Hashable, look_up: Callable[[], V]) -> V:
        """The kept answer, or the answer of `look_up` run on a worker thread, once for every
        request that asks for `key` meanwhile (an error reaches each of them). Called on the
        event loop's thread."""
        value = self.get(key)
        if value is not None:
            return value
        running = self._looking_up.get(key)
        if running is None:
            running = asyncio.ensure_future(self._look_up(key, look_up))
            self._looking_up[key] = running
            running.add_done_callback(partial(self._done, key))
        return await asyncio.shield(running)

    async def _look_up(self, key: Hashable, look_up: Callable[[], V]) -> V:
        value = await run_in_threadpool(look_up)
        self.put(key, value)
        return value

    def _done(self, key: Hashable, finished: "asyncio.Future[V]") -> None:
        if self._looking_up.get(key) is finished:
            del self._looking_up[key]
        if not finished.cancelled():
            finished.exception()  # retrieved here too, for when every waiter has gone

    def put(self, key: Hashable, value: V) -> None:
        if self.ttl_seconds <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (self.clock() + self.ttl_seconds, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_caches: "weakref.WeakSet[LookupCache[Any]]" = weakref.WeakSet()


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _clear_after_write(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        for cache in list(_caches):
            cache.clear()
