"""A production-shaped deployment on one machine: PostgreSQL, a private Redis that tests may
restart, real `adaptd worker` processes, and the API in process."""

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.db import new_session
from app.main import create_app
from app.models import Job, JobEvent, JobStatus, Model
from tests.e2e.processes import free_port, wait_for
from tests.factories import TeamCredentials, create_dataset, create_job, make_team

READY = re.compile(r"(\S+@\S+) ready\.")
FAST_LEASES = {
    "ADAPTD_HEARTBEAT_SECONDS": "0.5",
    "ADAPTD_LEASE_SECONDS": "3",
    "ADAPTD_MAINTENANCE_SECONDS": "0.5",
    "ADAPTD_REPUBLISH_AFTER_SECONDS": "4",
}


class PrivateRedis:
    """A Redis server of the test's own, so that restarting it disturbs nothing else."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(self._answers, 20, "redis to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def flushall(self) -> None:
        with redis.Redis.from_url(self.url) as connection:
            connection.flushall()

    def _answers(self) -> bool:
        try:
            with redis.Redis.from_url(self.url) as connection:
                return bool(connection.ping())
        except redis.ConnectionError:
            return False


@dataclass
class Deployment:
    settings: Settings
    client: TestClient
    team: TeamCredentials
    broker: PrivateRedis
    logs: Path
    store_env: dict[str, str] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_files: list[BinaryIO] = field(default_factory=list)

    def start_worker(
        self, *options: str, environment: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """`adaptd worker` with `options` and `environment` (`ADAPTD_...` settings); over an
        object store (`store_env`), on a data directory of its own, as if on a host of its
        own."""
        artifacts = self.settings.artifact_root
        if self.store_env:
            artifacts = self.logs / f"worker-{len(self.workers)}-data"
        env = {
            **os.environ,
            **FAST_LEASES,
            **self.store_env,
            "ADAPTD_DATABASE_URL": str(self.settings.database_url),
            "ADAPTD_BROKER_URL": self.broker.url,
            "ADAPTD_ARTIFACTS_DIR": str(artifacts),
            "ADAPTD_BASE_MODELS": json.dumps(self.settings.base_models),
            **(environment or {}),
        }
        log = (self.logs / f"worker-{len(self.workers)}.log").open("wb")
        self.log_files.append(log)
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", *options],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        return worker

    def wait_for_ready_workers(self, count: int, timeout: float = 120) -> None:
        """Until `count` Celery worker processes (by node name) have said they are ready."""

        def ready() -> set[str]:
            names: set[str] = set()
            for log in self.logs.glob("worker-*.log"):
                names.update(READY.findall(log.read_text(errors="replace")))
            return names

        wait_for(lambda: len(ready()) >= count, timeout, f"{count} workers to be ready")

    def worker_of(self, job_id: str) -> subprocess.Popen[bytes]:
        """The started worker whose process runs the job (it names itself `...:PID`)."""
        name = self.job(job_id).worker
        assert name is not None, f"job {job_id} is not running"
        pid = int(name.rsplit(":", 1)[1])
        for worker in self.workers:
            if worker.pid == pid:
                return worker
        raise AssertionError(f"{name} is none of the started workers")

    def signal_worker(self, worker: subprocess.Popen[bytes], signum: int) -> None:
        """Signal the worker and its training process (one process group)."""
        os.killpg(worker.pid, signum)

    def submit(self, **overrides: object) -> str:
        job_id: str = create_job(
            self.client, self.team, create_dataset(self.client, self.team), **overrides
        ).json()["id"]
        return job_id

    def job(self, job_id: str) -> Job:
        with new_session(self.settings) as session:
            return session.get_one(Job, job_id)

    def wait_until_ended(self, job_ids: list[str], timeout: float = 240) -> None:
        def all_ended() -> bool:
            return all(self.job(job_id).status.is_terminal for job_id in job_ids)

        wait_for(all_ended, timeout, f"jobs {job_ids} to end", self.logs / "worker-0.log")

    def tally(self, job_ids: list[str]) -> dict[str, int]:
        """Jobs submitted, succeeded, run twice (more than one model or success), lost."""
        with new_session(self.settings) as session:
            succeeded = session.scalar(
                select(func.count()).where(Job.id.in_(job_ids), Job.status == JobStatus.succeeded)
            )
            models = dict(
                session.execute(
                    select(Model.job_id, func.count())
                    .where(Model.job_id.in_(job_ids))
                    .group_by(Model.job_id)
                ).all()
            )
            successes = dict(
                session.execute(
                    select(JobEvent.job_id, func.count())
                    .where(JobEvent.job_id.in_(job_ids), JobEvent.message.like("model % created"))
                    .group_by(JobEvent.job_id)
                ).all()
            )
        twice = sum(1 for j in job_ids if models.get(j, 0) > 1 or successes.get(j, 0) > 1)
        return {
            "submitted": len(job_ids),
            "succeeded": int(succeeded or 0),
            "run_twice": twice,
            "lost": len(job_ids) - int(succeeded or 0),
        }

    def stop(self) -> None:
        for worker in self.workers:
            try:
                os.killpg(worker.pid, signal.SIGCONT)
                os.killpg(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            worker.wait()
        for log in self.log_files:
            log.close()


def over_object_store(settings: Settings, store_env: dict[str, str], name: str) -> Settings:
    """`settings` for a process whose artifacts live in the object store `store_env` names,
    with a data directory of its own."""
    return settings.model_copy(
        update={
            "artifact_store_url": store_env["ADAPTD_ARTIFACT_STORE_URL"],
            "s3_endpoint_url": store_env["ADAPTD_S3_ENDPOINT_URL"],
            "artifacts_dir": settings.data_dir / name,
        }
    )


@contextmanager
def deployment(
    settings: Settings, directory: Path, store_env: dict[str, str] | None = None
) -> Iterator[Deployment]:
    """Workers and the API in process; with `store_env`, every process keeps its artifacts
    in that object store and shares no directory with the others."""
    broker = PrivateRedis(directory)
    broker.start()
    settings = settings.model_copy(update={"broker_url": broker.url})
    if store_env:
        settings = over_object_store(settings, store_env, "api-0")
    with TestClient(create_app(settings)) as client:
        with new_session(settings) as session:
            team = make_team(session, "acme")
        running = Deployment(settings, client, team, broker, directory, dict(store_env or {}))
        try:
            yield running
        finally:
            running.stop()
            broker.stop()
