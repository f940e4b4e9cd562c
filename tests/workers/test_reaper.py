from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import new_session
from app.main import create_app
from app.models import Job, JobStatus
from app.models.base import utcnow
from app.services import leases
from tests.e2e.processes import wait_for
from tests.factories import (
    TeamCredentials,
    create_dataset,
    create_job,
    make_team,
    run_queued_jobs,
)
from workers.maintenance import reap


def running_job(
    client: TestClient, team: TeamCredentials, session: Session, silent_for: timedelta, attempt: int
) -> str:
    job_id: str = create_job(client, team, create_dataset(client, team)).json()["id"]
    leases.claim(session, job_id=job_id, worker="vanished")
    row = session.get_one(Job, job_id)
    row.heartbeat_at = utcnow() - silent_for
    row.attempt = attempt
    session.commit()
    return job_id


def test_reaper_requeues_job_whose_worker_stopped_heartbeating(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    stale = running_job(client, team, session, timedelta(hours=1), attempt=1)
    healthy = running_job(client, team, session, timedelta(seconds=0), attempt=1)
    requeued = reap(settings)

    session.expire_all()
    row = session.get_one(Job, stale)
    assert requeued == [stale]
    assert (row.status, row.lease_token, row.published_at) == (JobStatus.queued, None, None)
    assert session.get_one(Job, healthy).status == JobStatus.running


def test_reaper_fails_job_on_its_last_attempt(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = running_job(client, team, session, timedelta(hours=1), attempt=3)

    assert reap(settings) == []

    session.expire_all()
    row = session.get_one(Job, job_id)
    assert (row.status, row.error_code) == (JobStatus.failed, "lease_expired")


def test_requeued_job_runs_again_to_success(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = running_job(client, team, session, timedelta(hours=1), attempt=1)
    reap(settings)

    run_queued_jobs(settings)

    session.expire_all()
    row = session.get_one(Job, job_id)
    assert (row.status, row.attempt) == (JobStatus.succeeded, 2)


def test_reaper_cancels_job_whose_cancel_was_requested(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = running_job(client, team, session, timedelta(hours=1), attempt=1)
    client.post(f"/v1/jobs/{job_id}/cancel", headers=team.headers)

    assert reap(settings) == []

    session.expire_all()
    assert session.get_one(Job, job_id).status == JobStatus.cancelled


def test_a_worker_paused_inside_a_lease_write_neither_stalls_the_reaper_nor_keeps_the_job(
    postgres_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leases, "ROW_LOCK_IDLE_LIMIT_SECONDS", 1)
    with (
        TestClient(create_app(postgres_settings)) as client,
        new_session(postgres_settings) as session,
    ):
        team = make_team(session, "acme")
        job_id = running_job(client, team, session, timedelta(hours=1), attempt=1)
        token = session.get_one(Job, job_id).lease_token
        assert token is not None

        paused = new_session(postgres_settings)
        monkeypatch.setattr(paused, "commit", lambda: None)
        leases.heartbeat(paused, job_id=job_id, lease_token=token)

        assert reap(postgres_settings) == []
        wait_for(lambda: reap(postgres_settings) == [job_id], 10, "the job to be requeued")

        session.expire_all()
        assert session.get_one(Job, job_id).status == JobStatus.queued
        with pytest.raises(DBAPIError, match="idle-in-transaction timeout"):
            paused.execute(select(1))
        paused.close()
