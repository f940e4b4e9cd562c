"""Beats that a background process writes and the API process reads: when each of its loops
last went round without an error. A loop that fails marks itself failing at once; one that
stops beating (hung, or its process gone) is stale after `stale_seconds`."""

import time
from collections.abc import Sequence
from multiprocessing.context import BaseContext
from typing import Literal

State = Literal["ok", "failing", "stale", "down"]
FAILING = -1.0


class Liveness:
    def __init__(self, context: BaseContext, loops: Sequence[str], stale_seconds: float) -> None:
        self.loops = tuple(loops)
        self.stale_seconds = stale_seconds
        self._beats = context.Array("d", len(self.loops), lock=False)

    def beat(self, loop: str) -> None:
        self._beats[self.loops.index(loop)] = time.time()

    def fail(self, loop: str) -> None:
        self._beats[self.loops.index(loop)] = FAILING

    def reset(self) -> None:
        for index in range(len(self.loops)):
            self._beats[index] = 0.0

    def state(self, loop: str) -> State:
        beat = self._beats[self.loops.index(loop)]
        if beat == FAILING:
            return "failing"
        if beat == 0.0:
            return "down"
        return "ok" if time.time() - beat <= self.stale_seconds else "stale"
