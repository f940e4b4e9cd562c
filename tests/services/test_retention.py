"""Retention removes what its rules name, old enough, and nothing else; /metrics reports it."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.ids import new_id
from app.models import (
    IdempotencyRecord,
    Job,
    JobEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from app.models.base import utcnow
from app.services.webhook_events import emit
from tests.factories import TeamCredentials, create_dataset, create_job, run_queued_jobs
from tests.tiny_model import TINY_BASE_MODEL
from workers.housekeeping import sweep


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def age(session: Session, model: type, days: float) -> None:
    session.execute(update(model).values(created_at=utcnow() - timedelta(days=days)))
    session.commit()


def test_a_sweep_removes_old_rows_only_and_counts_them(
    client: TestClient, team: TeamCredentials, session: Session, settings: Settings
) -> None:
    finished = create_job(client, team, create_dataset(client, team)).json()["id"]
    run_queued_jobs(settings)
    queued = client.post(
        "/v1/jobs",
        headers={**team.headers, "Idempotency-Key": "k"},
        json={"dataset_id": create_dataset(client, team), "base_model": TINY_BASE_MODEL},
    ).json()["id"]
    endpoint = WebhookEndpoint(
        id=new_id("whk"),
        team_id=team.team_id,
        url="https://example.com/h",
        events=["x"],
        secret="whsec_dGVzdHNlY3JldA==",
    )
    session.add(endpoint)
    session.commit()
    for _ in range(3):
        emit(session, team_id=team.team_id, type_="x", data={})
    session.commit()
    session.execute(update(WebhookDelivery).values(status="delivered"))
    pending = session.scalars(select(WebhookDelivery)).first()
    assert pending is not None
    pending.status = "pending"
    session.commit()
    age(session, WebhookDelivery, 31)
    age(session, WebhookEvent, 31)
    age(session, IdempotencyRecord, 2)
    session.execute(
        update(Job).where(Job.id == finished).values(finished_at=utcnow() - timedelta(days=91))
    )
    session.commit()
    outbox_before = count(session, WebhookEvent)
    events_before = {job_id: count_events(session, job_id) for job_id in (finished, queued)}

    removed = sweep(settings)
    again = sweep(settings)
    metrics = client.get("/metrics").text

    assert removed["webhook_delivery"] == 2, "the pending delivery stays"
    assert removed["webhook_event"] == outbox_before - 1, "the pending delivery's event stays"
    assert count(session, WebhookEvent) == 1
    assert removed["idempotency_record"] == 1
    assert removed["job_event"] == events_before[finished] > 0
    assert count_events(session, queued) == events_before[queued] > 0
    assert count(session, WebhookDelivery) == 1
    assert set(again.values()) == {0}
    assert 'adaptd_retention_removed_total{rule="webhook_delivery"} 2.0' in metrics


def count_events(session: Session, job_id: str) -> int:
    return int(session.scalar(select(func.count()).where(JobEvent.job_id == job_id)) or 0)
