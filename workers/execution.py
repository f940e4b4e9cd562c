"""The one code path that runs a job, shared by the Celery task and the embedded runner.

Each job trains in a process of its own, forked by a fork server: a clean process that
imported the training code (torch, transformers) once and never touches CUDA, so a job starts
in milliseconds instead of re-importing for seconds, and CUDA is first initialised in the
training process itself (it is not fork-safe once initialised)."""

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Callable

from app.core.config import Settings
from app.core.db import new_session
from app.core.storage import open_store
from app.services import leases, scheduling
from app.services.job_work import run_job
from app.services.leases import Lease

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.5
FINISH_GRACE_SECONDS = 5.0
TRAINING_PROCESSES = multiprocessing.get_context("forkserver")
TRAINING_PROCESSES.set_forkserver_preload([__name__])


def execute_job(
    settings: Settings,
    job_id: str,
    *,
    worker: str,
    stopping: threading.Event | None = None,
    on_poll: Callable[[], None] | None = None,
) -> bool:
    """Claim, train in a process of its own, heartbeat while it runs. False: not ours to run.

    When `stopping` is set (the worker is shutting down), the training process checkpoints at
    the end of its current step and hands the job back to the queue. `on_poll` is called
    every time the running training is looked at."""
    _ready_fork_server()
    with new_session(settings) as session:
        if not scheduling.may_start(session, settings=settings, job_id=job_id):
            logger.info("job %s waits: its team runs as many jobs as it may", job_id)
            scheduling.hold_back(session, job_id=job_id)
            return False
        lease_token = leases.claim(session, job_id=job_id, worker=worker)
        if lease_token is None:
            logger.info("job %s is not queued; another worker has it or it ended", job_id)
            return False
        logger.info("job %s claimed by %s", job_id, worker)
        process = TRAINING_PROCESSES.Process(
            target=_training_process,
            args=(settings, job_id, lease_token),
            name=f"adaptd-train-{job_id}",
        )
        process.start()
        pause_asked = False
        next_heartbeat = time.monotonic() + settings.heartbeat_seconds
        while process.exitcode is None:
            process.join(min(POLL_SECONDS, settings.heartbeat_seconds))
            if process.exitcode is not None:
                break
            if on_poll is not None:
                on_poll()
            if stopping is not None and stopping.is_set() and not pause_asked:
                logger.info("job %s: the worker is shutting down; pausing the training", job_id)
                process.terminate()
                pause_asked = True
            if time.monotonic() >= next_heartbeat:
                next_heartbeat = time.monotonic() + settings.heartbeat_seconds
                lease = leases.heartbeat(session, job_id=job_id, lease_token=lease_token)
                if lease is not Lease.held:
                    process.join(FINISH_GRACE_SECONDS)
                if lease is not Lease.held and process.is_alive():
                    logger.warning("job %s: %s; stopping its training", job_id, lease.value)
                    _stop(process)
        ended = leases.end_abandoned(
            session, job_id=job_id, lease_token=lease_token, exit_code=process.exitcode
        )
        if ended is not None and ended.is_terminal:
            open_store(settings).checkpoints(job_id).delete()
        return True


def _ready_fork_server() -> None:
    """Start the fork server, and wait while it imports the training code, before a job is
    claimed: a process start then takes milliseconds and never holds up the heartbeat."""
    process = TRAINING_PROCESSES.Process(target=_nothing, name="adaptd-fork-server-ready")
    process.start()
    process.join()


def _nothing() -> None:
    pass


def _training_process(settings: Settings, job_id: str, lease_token: str) -> None:
    pause = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: pause.set())
    threading.Thread(target=_exit_when_orphaned, daemon=True).start()
    run_job(settings, job_id, lease_token, pause.is_set)


def _exit_when_orphaned() -> None:
    """End the training at once when the process that started it is gone."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
    os._exit(1)


def _stop(process: multiprocessing.process.BaseProcess) -> None:
    """Ask for a pause (SIGTERM), then insist."""
    process.terminate()
    process.join(30)
    if process.is_alive():
        process.kill()
        process.join()
