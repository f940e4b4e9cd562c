from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.api.routes import jobs as job_routes
from app.core.config import Settings
from app.models import IdempotencyRecord
from app.models.base import utcnow
from app.schemas.job import JobCreate
from app.services import idempotency
from tests.factories import (
    TeamCredentials,
    create_dataset,
    create_job,
    csv_bytes,
    example_rows,
    run_queued_jobs,
    upload_csv,
)


def post_job(client: TestClient, team: TeamCredentials, key: str, dataset_id: str) -> object:
    return client.post(
        "/v1/jobs",
        headers={**team.headers, "Idempotency-Key": key},
        json={"dataset_id": dataset_id, "metadata": {"run": 1}},
    )


def test_repeated_job_post_with_same_key_returns_first_answer(
    client: TestClient, team: TeamCredentials
) -> None:
    dataset_id = create_dataset(client, team)

    first = post_job(client, team, "retry-1", dataset_id)
    repeat = post_job(client, team, "retry-1", dataset_id)

    assert first.status_code == repeat.status_code == 202  # type: ignore[attr-defined]
    assert repeat.json() == first.json()  # type: ignore[attr-defined]
    assert repeat.headers["Idempotent-Replayed"] == "true"  # type: ignore[attr-defined]
    assert len(client.get("/v1/jobs", headers=team.headers).json()["data"]) == 1


def test_same_key_with_a_different_body_is_422(client: TestClient, team: TeamCredentials) -> None:
    dataset_id = create_dataset(client, team)
    post_job(client, team, "retry-2", dataset_id)

    response = client.post(
        "/v1/jobs",
        headers={**team.headers, "Idempotency-Key": "retry-2"},
        json={"dataset_id": dataset_id, "metadata": {"run": 2}},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "header Idempotency-Key"
    assert len(client.get("/v1/jobs", headers=team.headers).json()["data"]) == 1


def test_repeated_csv_upload_with_same_key_stores_one_dataset(
    client: TestClient, team: TeamCredentials
) -> None:
    content = csv_bytes(example_rows())
    headers = {**team.headers, "Idempotency-Key": "upload-1"}

    answers = [
        client.post("/v1/datasets", headers=headers, files={"file": ("a.csv", content, "text/csv")})
        for _ in range(2)
    ]

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert len(client.get("/v1/datasets", headers=team.headers).json()["data"]) == 1


def test_key_in_progress_answers_409(
    client: TestClient, team: TeamCredentials, session: Session
) -> None:
    dataset_id = create_dataset(client, team)
    body = {"dataset_id": dataset_id, "metadata": {"run": 1}}
    request_fingerprint = idempotency.fingerprint(
        JobCreate.model_validate(body).model_dump(mode="json")
    )
    idempotency.begin(
        session,
        team_id=team.team_id,
        key="slow",
        scope="POST /v1/jobs",
        request_fingerprint=request_fingerprint,
        reservation_seconds=300,
    )

    response = client.post(
        "/v1/jobs", headers={**team.headers, "Idempotency-Key": "slow"}, json=body
    )

    assert response.status_code == 409
    assert "still in progress" in response.json()["detail"]


def test_concurrent_repeats_create_one_job(client: TestClient, team: TeamCredentials) -> None:
    dataset_id = create_dataset(client, team)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post_job(client, team, "race", dataset_id), range(4)))

    statuses = sorted(a.status_code for a in answers)  # type: ignore[attr-defined]
    assert set(statuses) <= {202, 409}
    assert 202 in statuses
    assert len(client.get("/v1/jobs", headers=team.headers).json()["data"]) == 1


def test_failed_request_frees_its_key(client: TestClient, team: TeamCredentials) -> None:
    headers = {**team.headers, "Idempotency-Key": "fix-and-retry"}
    bad = upload_csv(client, team, b"text,label\nhello,a\n")
    missing = client.post("/v1/jobs", headers=headers, json={"dataset_id": "ds_missing"})
    dataset_id = create_dataset(client, team)

    retried = client.post("/v1/jobs", headers=headers, json={"dataset_id": dataset_id})

    assert bad.status_code == 422
    assert missing.status_code == 422
    assert retried.status_code == 202


def test_repeated_cancel_with_same_key_is_answered_as_the_first(
    client: TestClient, team: TeamCredentials
) -> None:
    job = post_job(client, team, "job-3", create_dataset(client, team)).json()  # type: ignore[attr-defined]
    keyed = {**team.headers, "Idempotency-Key": "cancel-3"}

    first = client.post(f"/v1/jobs/{job['id']}/cancel", headers=keyed)
    repeat = client.post(f"/v1/jobs/{job['id']}/cancel", headers=keyed)
    unkeyed = client.post(f"/v1/jobs/{job['id']}/cancel", headers=team.headers)

    assert first.status_code == repeat.status_code == 200
    assert repeat.json() == first.json()
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert unkeyed.status_code == 409, "a new cancel of an ended job is still refused"


def test_repeated_rollback_with_same_key_moves_the_alias_once(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    dataset_id = create_dataset(client, team)
    jobs = [create_job(client, team, dataset_id).json()["id"] for _ in range(3)]
    run_queued_jobs(settings)
    for job_id in jobs:
        model = client.get(f"/v1/jobs/{job_id}", headers=team.headers).json()["model_id"]
        client.put("/v1/aliases/router", headers=team.headers, json={"model_id": model})
    keyed = {**team.headers, "Idempotency-Key": "rollback-1"}

    first = client.post("/v1/aliases/router/rollback", headers=keyed)
    repeat = client.post("/v1/aliases/router/rollback", headers=keyed)
    alias = client.get("/v1/aliases/router", headers=team.headers).json()

    assert repeat.json() == first.json()
    assert sum(move["is_rollback"] for move in alias["history"]) == 1


def job_body(client: TestClient, team: TeamCredentials) -> dict[str, object]:
    return {"dataset_id": create_dataset(client, team), "metadata": {"run": 1}}


def reserve(session: Session, team: TeamCredentials, key: str, body: dict[str, object]) -> None:
    """What a request that crashed after reserving its key, before committing, leaves behind."""
    idempotency.begin(
        session,
        team_id=team.team_id,
        key=key,
        scope="POST /v1/jobs",
        request_fingerprint=idempotency.fingerprint(
            JobCreate.model_validate(body).model_dump(mode="json")
        ),
        reservation_seconds=300,
    )


def age_reservations(session: Session, seconds: float) -> None:
    session.execute(
        update(IdempotencyRecord).values(updated_at=utcnow() - timedelta(seconds=seconds))
    )
    session.commit()


def test_a_crashed_requests_reservation_expires(
    client: TestClient, team: TeamCredentials, session: Session, settings: Settings
) -> None:
    body = job_body(client, team)
    reserve(session, team, "crashed", body)
    age_reservations(session, settings.idempotency_reservation_seconds + 1)

    retried = client.post(
        "/v1/jobs", headers={**team.headers, "Idempotency-Key": "crashed"}, json=body
    )
    repeat = client.post(
        "/v1/jobs", headers={**team.headers, "Idempotency-Key": "crashed"}, json=body
    )

    assert retried.status_code == 202, retried.text
    assert repeat.json() == retried.json()
    assert len(client.get("/v1/jobs", headers=team.headers).json()["data"]) == 1


def test_a_key_whose_work_committed_is_never_freed(
    client: TestClient,
    team: TeamCredentials,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job commits, then answering fails: a retry must not create a second job."""
    body = job_body(client, team)
    headers = {**team.headers, "Idempotency-Key": "answer-lost"}

    def lost_answer(_job: object) -> object:
        raise RuntimeError("the answer was lost after the commit")

    with monkeypatch.context() as patched:
        patched.setattr(job_routes, "to_public", lost_answer)
        with pytest.raises(RuntimeError, match="answer was lost"):
            client.post("/v1/jobs", headers=headers, json=body)
    soon = client.post("/v1/jobs", headers=headers, json=body)
    age_reservations(session, settings.idempotency_reservation_seconds + 1)
    later = client.post("/v1/jobs", headers=headers, json=body)

    assert len(client.get("/v1/jobs", headers=team.headers).json()["data"]) == 1
    assert soon.status_code == 409
    assert "still in progress" in soon.json()["detail"]
    assert later.status_code == 409
    assert "was carried out, but its answer was lost" in later.json()["detail"]
