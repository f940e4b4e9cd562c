"""`adaptd worker` over several devices: one Celery worker process per device, each started
with its device's environment, restarted when it dies, stopped together."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

from workers.devices import CPU, WorkerDevice

logger = logging.getLogger(__name__)
RESTART_MAX_SECONDS = 30.0
STEADY_SECONDS = 60.0


class WorkerPool:
    def __init__(self, devices: list[WorkerDevice], queues: str, loglevel: str) -> None:
        self.devices, self.queues, self.loglevel = devices, queues, loglevel
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * len(devices)
        self.started = [0.0] * len(devices)
        self.delays = [0.0] * len(devices)
        self._stopping = threading.Event()

    def run(self) -> None:
        """Start a worker per device and keep them running until SIGTERM or SIGINT, which is
        passed on to each (a worker finishes or pauses its job at a step, then exits)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        for index in range(len(self.devices)):
            self._start(index)
        while not self._stopping.wait(1.0):
            for index, process in enumerate(self.processes):
                if process is not None and process.poll() is not None:
                    self._restart(index, process.returncode)
        for process in self.processes:
            if process is not None:
                process.wait()

    def _start(self, index: int) -> None:
        device = self.devices[index]
        command = [
            sys.executable, "-m", "app.cli", "worker",
            "--devices", CPU if device.gpu is None else "0",  # the only GPU it sees
            "--queues", self.queues,
            "--loglevel", self.loglevel,
            "--hostname", f"{device.name}-{index}@%h",
        ]  # fmt: skip
        process = subprocess.Popen(command, env={**os.environ, **device.environment()})
        self.processes[index], self.started[index] = process, time.monotonic()
        logger.info("worker %s for %s started (pid %s)", index, device.name, process.pid)

    def _restart(self, index: int, code: int) -> None:
        """At once the first time, then with a growing pause while it keeps dying young."""
        delay = self.delays[index]
        if time.monotonic() - self.started[index] > STEADY_SECONDS:
            delay = 0.0
        name = self.devices[index].name
        logger.error("worker %s for %s exited (code %s); again in %.0f s", index, name, code, delay)
        self.processes[index] = None
        if self._stopping.wait(delay):
            return
        self.delays[index] = min(RESTART_MAX_SECONDS, max(1.0, 2 * delay))
        self._start(index)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping.set()
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signum)
