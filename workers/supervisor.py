"""`adaptd serve` keeps its embedded runner alive: starts it, restarts it when its process
dies (with backoff), and tells /readyz how the runner and its webhook sender are doing."""

import logging
import multiprocessing
import os
import threading
import time

from app.core.config import Settings
from app.core.liveness import Liveness, State
from workers.runner import JOB_LOOP, LOOPS, SENDER_LOOP, run_forever

logger = logging.getLogger(__name__)
STOP_SECONDS = 60
RESTART_MIN_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
STEADY_SECONDS = 60.0


class RunnerSupervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        stale = max(30.0, 5 * settings.runner_poll_seconds, 5 * settings.webhook_poll_seconds)
        self.liveness = Liveness(self.context, LOOPS, stale_seconds=stale)
        self.process: multiprocessing.process.BaseProcess | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._spawned_at = 0.0

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="adaptd-supervisor", daemon=True)
        self._watcher.start()

    def checks(self) -> dict[str, State]:
        alive = self.process is not None and self.process.is_alive()
        return {
            "job_runner": self.liveness.state(JOB_LOOP) if alive else "down",
            "webhook_sender": self.liveness.state(SENDER_LOOP) if alive else "down",
        }

    def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is None:
            return
        process.terminate()
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()

    def _spawn(self) -> None:
        self.liveness.reset()
        self.process = self.context.Process(
            target=run_forever,
            args=(self.settings, os.getpid(), self.liveness),
            name="adaptd-runner",
        )
        self.process.start()
        self._spawned_at = time.monotonic()

    def _watch(self) -> None:
        """Restart a dead runner at once the first time, then with a growing pause while it
        keeps dying young; a runner that lived a while starts the backoff over."""
        delay = 0.0
        while not self._stopping.is_set():
            process = self.process
            assert process is not None
            process.join(1.0)
            if process.is_alive() or self._stopping.is_set():
                continue
            if time.monotonic() - self._spawned_at > STEADY_SECONDS:
                delay = 0.0
            logger.error(
                "the job runner exited (code %s); starting it again in %.0f s",
                process.exitcode,
                delay,
            )
            if self._stopping.wait(delay):
                return
            self._spawn()
            self.restarts += 1
            delay = min(RESTART_MAX_SECONDS, max(RESTART_MIN_SECONDS, 2 * delay))
