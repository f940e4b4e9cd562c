"""The embedded runner: claims queued jobs from the job table, no broker needed, and beside
them sends webhooks and decides finished retrains. Each loop outlives errors (a database
that went away, say): it logs, backs off and goes on."""

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable

from app.core.config import Settings
from app.core.db import new_session
from app.core.liveness import Liveness
from app.services import scheduling
from workers.execution import execute_job
from workers.housekeeping import sweep
from workers.maintenance import reap
from workers.retrains import advance_due
from workers.webhooks import run_sender

logger = logging.getLogger(__name__)
JOB_LOOP = "job_runner"
SENDER_LOOP = "webhook_sender"
RETRAIN_LOOP = "retrains"
SWEEP_LOOP = "retention"
LOOPS = (JOB_LOOP, SENDER_LOOP, RETRAIN_LOOP, SWEEP_LOOP)
BACKOFF_MAX_SECONDS = 30.0


class Backoff:
    """Doubling pauses after consecutive failures, from `first` up to BACKOFF_MAX_SECONDS."""

    def __init__(self, first: float) -> None:
        self.first = first
        self.failures = 0

    def failed(self) -> float:
        self.failures += 1
        return float(min(BACKOFF_MAX_SECONDS, self.first * 2 ** (self.failures - 1)))

    def succeeded(self) -> None:
        self.failures = 0


def run_forever(
    settings: Settings, parent: int | None = None, liveness: Liveness | None = None
) -> None:
    """Run queued jobs one at a time until SIGTERM (which pauses the current job cleanly) or
    until the `adaptd serve` process that started this one is gone."""
    worker = f"embedded@{socket.gethostname()}:{os.getpid()}"
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    logger.info("embedded runner %s polling for queued jobs", worker)
    report = _reporter(liveness)
    threading.Thread(
        target=run_sender,
        args=(settings, stopping),
        kwargs={"on_pass": report(SENDER_LOOP)},
        name="adaptd-webhooks",
        daemon=True,
    ).start()
    for loop, work, pause in (
        (RETRAIN_LOOP, lambda: advance_due(settings), settings.webhook_poll_seconds),
        (SWEEP_LOOP, lambda: sweep(settings), settings.retention_sweep_seconds),
    ):
        threading.Thread(
            target=_keep_running,
            args=(work, stopping, pause),
            kwargs={"report": report(loop)},
            name=f"adaptd-{loop}",
            daemon=True,
        ).start()
    running = report(JOB_LOOP)

    def jobs() -> bool:
        reap(settings)
        return run_next(settings, worker=worker, stopping=stopping, on_poll=lambda: running(True))

    _keep_running(
        jobs,
        stopping,
        settings.runner_poll_seconds,
        report=running,
        alive=lambda: parent is None or os.getppid() == parent,
    )


def _keep_running(
    work: Callable[[], object],
    stopping: threading.Event,
    pause: float,
    *,
    report: Callable[[bool], None],
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Call `work` until stopped; pause between calls unless it returned True (more to do)."""
    backoff = Backoff(pause)
    while not stopping.is_set() and alive():
        try:
            busy = work()
        except Exception:
            delay = backoff.failed()
            report(False)
            logger.exception("background work failed; trying again in %.0f s", delay)
            stopping.wait(delay)
            continue
        backoff.succeeded()
        report(True)
        if busy is not True:
            stopping.wait(pause)


def _reporter(liveness: Liveness | None) -> Callable[[str], Callable[[bool], None]]:
    """For each loop, a callback that records a pass (True) or a failure (False)."""

    def for_loop(loop: str) -> Callable[[bool], None]:
        def report(ok: bool) -> None:
            if liveness is None:
                return
            if ok:
                liveness.beat(loop)
            else:
                liveness.fail(loop)

        return report

    return for_loop


def run_next(
    settings: Settings,
    *,
    worker: str,
    stopping: threading.Event | None = None,
    on_poll: Callable[[], None] | None = None,
) -> bool:
    with new_session(settings) as session:
        due = scheduling.due(session, settings=settings, limit=1)
    if not due:
        return False
    execute_job(settings, due[0], worker=worker, stopping=stopping, on_poll=on_poll)
    return True
