"""What a predict request looks up before it can be scored (its API key, then the model or
alias it names), kept for a moment so that a stream of requests does not query the database
for each one.

An answer is kept for `ttl_seconds` at most: a key revoked or an alias moved by another
process (a replica, the job runner) takes effect within that time. A write committed by this
process clears every cache at once, so what this process changes takes effect at the next
request."""

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

V = TypeVar("V")
MAX_ENTRIES = 10_000
_WROTE = "adaptd_wrote"


class LookupCache(Generic[V]):
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
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
