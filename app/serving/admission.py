"""Texts in predict requests being answered at once, per team, in this API process: a team
over its `predict_texts_in_flight` quota is answered 429 at once, so its flood waits at its
own door while other teams on the same shared model are still served."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.core.problems import TooManyRequests


class TeamAdmission:
    def __init__(self) -> None:
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, team_id: str, texts: int, limit: int) -> Iterator[None]:
        """Hold `texts` of the team's places while the request is answered. A lone request
        larger than the limit is let in when the team has nothing else in flight."""
        with self._lock:
            held = self._in_flight.get(team_id, 0)
            if held and held + texts > limit:
                raise TooManyRequests(
                    f"this team has {held} texts being scored, and {texts} more would pass its "
                    f"limit ({limit}, predict_texts_in_flight); retry shortly",
                    retry_after_seconds=1,
                    quota="predict_texts_in_flight",
                    limit=limit,
                )
            self._in_flight[team_id] = held + texts
        try:
            yield
        finally:
            with self._lock:
                left = self._in_flight[team_id] - texts
                if left:
                    self._in_flight[team_id] = left
                else:
                    del self._in_flight[team_id]
