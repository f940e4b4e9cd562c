import multiprocessing
import os
import signal
import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import Job, JobStatus
from app.services import leases
from tests.factories import TeamCredentials, create_dataset, create_job, run_queued_jobs
from workers.execution import execute_job


def wait_until(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def job_row(session: Session, job_id: str) -> Job:
    session.expire_all()
    return session.get_one(Job, job_id)


def start_long_job(
    client: TestClient,
    team: TeamCredentials,
    settings: Settings,
    session: Session,
    earlier_attempts: int = 0,
    **job_options: object,
) -> tuple[str, threading.Thread]:
    """A job that would train for minutes, supervised in a thread, once it has made a step."""
    job_id: str = create_job(
        client,
        team,
        create_dataset(client, team),
        hyperparameters={"epochs": 100, "batch_size": 1},
        **job_options,
    ).json()["id"]
    session.get_one(Job, job_id).attempt = earlier_attempts
    session.commit()
    supervisor = threading.Thread(
        target=execute_job, args=(settings, job_id), kwargs={"worker": "w"}
    )
    supervisor.start()
    wait_until(lambda: job_row(session, job_id).progress.get("step", 0) > 0)
    return job_id, supervisor


def test_claim_job_only_once(client: TestClient, team: TeamCredentials, session: Session) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]

    first = leases.claim(session, job_id=job_id, worker="a")
    second = leases.claim(session, job_id=job_id, worker="b")

    row = job_row(session, job_id)
    assert first is not None
    assert second is None
    assert (row.status, row.attempt, row.worker, row.lease_token) == (
        JobStatus.running,
        1,
        "a",
        first,
    )


def test_execute_job_delivered_twice_trains_once(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]

    ran = [execute_job(settings, job_id, worker="w1"), execute_job(settings, job_id, worker="w2")]

    row = job_row(session, job_id)
    assert ran == [True, False]
    assert (row.status, row.attempt, row.worker) == (JobStatus.succeeded, 1, "w1")


def test_writes_with_a_stale_lease_are_ignored(
    client: TestClient, team: TeamCredentials, session: Session
) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]
    token = leases.claim(session, job_id=job_id, worker="a")
    assert token is not None

    wrote = leases.record_progress(
        session, job_id=job_id, lease_token="stale", progress={"step": 9}
    )
    failed = leases.fail(session, job_id=job_id, lease_token="stale", code="x", message="y")

    row = job_row(session, job_id)
    assert (wrote, failed) == (False, False)
    assert (row.status, row.progress) == (JobStatus.running, {})


def kill_training_process(job_id: str) -> None:
    for child in multiprocessing.active_children():
        if child.name == f"adaptd-train-{job_id}":
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]


def event_messages(client: TestClient, team: TeamCredentials, job_id: str) -> list[str]:
    answer = client.get(f"/v1/jobs/{job_id}/events?limit=500", headers=team.headers).json()
    return [event["message"] for event in answer["data"]]


def test_killed_training_process_is_retried_from_its_checkpoint(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = create_job(
        client,
        team,
        create_dataset(client, team),
        hyperparameters={"epochs": 8, "batch_size": 1},
    ).json()["id"]
    supervisor = threading.Thread(
        target=execute_job, args=(settings, job_id), kwargs={"worker": "w"}
    )
    supervisor.start()
    wait_until(lambda: job_row(session, job_id).progress.get("epoch", 0) >= 2)

    kill_training_process(job_id)
    supervisor.join(60)
    requeued = job_row(session, job_id)
    after_kill = (requeued.status, requeued.attempt)
    run_queued_jobs(settings)

    row = job_row(session, job_id)
    messages = event_messages(client, team, job_id)
    assert after_kill == (JobStatus.queued, 1)
    assert (row.status, row.attempt) == (JobStatus.succeeded, 2)
    assert any(
        m.startswith("the training process was killed by SIGKILL (exit code -9;")
        and "queued again" in m
        for m in messages
    )
    assert any(m.startswith("resumed from the checkpoint at step") for m in messages)
    assert not settings.artifact_root.joinpath(".checkpoints", job_id).exists()


def test_training_process_killed_on_its_last_attempt_fails_the_job(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id, supervisor = start_long_job(client, team, settings, session, earlier_attempts=2)

    kill_training_process(job_id)
    supervisor.join(60)

    row = job_row(session, job_id)
    assert (row.status, row.attempt) == (JobStatus.failed, 3)
    assert row.error_code == "training_process_crashed"
    assert (row.error_message or "").startswith("the training process was killed by SIGKILL")
    assert "last allowed attempt" in (row.error_message or "")


def test_supervisor_stops_training_when_its_lease_is_taken(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id, supervisor = start_long_job(client, team, settings, session)

    row = job_row(session, job_id)
    row.lease_token = "taken-by-another-attempt"
    session.commit()
    supervisor.join(60)

    row = job_row(session, job_id)
    assert not supervisor.is_alive()
    assert not [c for c in multiprocessing.active_children() if c.name.endswith(job_id)]
    assert (row.status, row.lease_token, row.model_id) == (
        JobStatus.running,
        "taken-by-another-attempt",
        None,
    )


def test_cancel_queued_job_ends_it_at_once(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]

    response = client.post(f"/v1/jobs/{job_id}/cancel", headers=team.headers)

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_requested_at"] is not None
    assert execute_job(settings, job_id, worker="late") is False
    assert job_row(session, job_id).attempt == 0


def test_cancel_running_job_stops_training_and_ends_cancelled(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id, supervisor = start_long_job(client, team, settings, session)

    response = client.post(f"/v1/jobs/{job_id}/cancel", headers=team.headers)
    supervisor.join(30)

    row = job_row(session, job_id)
    assert response.status_code == 200
    assert response.json()["status"] == "running"
    assert response.json()["cancel_requested_at"] is not None
    assert not supervisor.is_alive()
    assert not [c for c in multiprocessing.active_children() if c.name.endswith(job_id)]
    assert (row.status, row.model_id, row.error_code) == (JobStatus.cancelled, None, None)
    assert row.progress["step"] < row.progress["total_steps"]


def test_cancel_finished_job_is_409(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]
    execute_job(settings, job_id, worker="w")

    response = client.post(f"/v1/jobs/{job_id}/cancel", headers=team.headers)

    assert response.status_code == 409
    assert "already ended succeeded" in response.json()["detail"]


def test_job_allowed_one_attempt_fails_when_its_training_process_dies(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id, supervisor = start_long_job(client, team, settings, session, max_attempts=1)

    kill_training_process(job_id)
    supervisor.join(60)

    row = job_row(session, job_id)
    assert (row.status, row.attempt, row.max_attempts) == (JobStatus.failed, 1, 1)
    assert row.error_code == "training_process_crashed"


def test_a_store_that_never_answers_hands_the_job_back_a_bounded_number_of_times(
    client: TestClient, team: TeamCredentials, session: Session
) -> None:
    job_id = create_job(client, team, create_dataset(client, team)).json()["id"]
    reason = "the artifact store did not answer for 120 s: connection refused"

    for _ in range(leases.MAX_STORE_HAND_BACKS):
        token = leases.claim(session, job_id=job_id, worker="w")
        assert token is not None
        assert leases.requeue_unreached(session, job_id=job_id, lease_token=token, reason=reason)
        row = job_row(session, job_id)
        assert (row.status, row.attempt, row.lease_token) == (JobStatus.queued, 0, None)

    token = leases.claim(session, job_id=job_id, worker="w")
    assert token is not None
    leases.requeue_unreached(session, job_id=job_id, lease_token=token, reason=reason)

    row = job_row(session, job_id)
    assert (row.status, row.error_code) == (JobStatus.failed, "artifact_store_unreachable")
    assert reason in (row.error_message or "")
