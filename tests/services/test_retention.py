"""Retention removes what its rules name, old enough, and nothing else; /metrics reports it."""

import os
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.ids import new_id
from app.core.sealing import keyring_of
from app.core.storage import LocalStore
from app.models import (
    Dataset,
    DatasetExample,
    IdempotencyRecord,
    Job,
    JobEvent,
    Model,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from app.models.base import utcnow
from app.services import datasets
from app.services.webhook_events import emit
from tests.api.test_triggers import create_trigger, fire
from tests.factories import (
    TeamCredentials,
    create_dataset,
    create_job,
    run_queued_jobs,
    trained_model,
)
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
        sealed_secret=keyring_of(settings).seal("whsec_dGVzdHNlY3JldA=="),
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


def old_dir(path: Path, hours: float = 48) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "weights.bin").write_bytes(b"x")
    moment = time.time() - hours * 3600
    os.utime(path, (moment, moment))
    return path


def test_the_store_sweep_removes_what_no_row_references(
    client: TestClient, team: TeamCredentials, session: Session, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    queued = create_job(client, team, create_dataset(client, team)).json()
    store = LocalStore(settings.artifact_root)
    kept_model = store.fetch(session.get(Model, model["id"]).artifact_key)  # type: ignore[union-attr]
    os.utime(kept_model, (0, 0))
    orphan = old_dir(store.root / "mdl_orphan")
    young_orphan = old_dir(store.root / "mdl_young", hours=1)
    staging = old_dir(store.root / ".mdl_crashed-x1y2")
    ended_checkpoint = old_dir(store.checkpoints(model["job_id"]).local)
    live_checkpoint = old_dir(store.checkpoints(queued["id"]).local)
    kept_embeddings = old_dir(store.embeddings(queued["dataset_id"]).local)
    gone_embeddings = old_dir(store.embeddings("ds_deleted").local)

    removed = sweep(settings)

    assert kept_model.is_dir()
    assert young_orphan.is_dir(), "younger than the grace period"
    assert live_checkpoint.is_dir(), "its job may still resume from it"
    assert kept_embeddings.is_dir()
    assert not any(p.exists() for p in (orphan, staging, ended_checkpoint, gone_embeddings))
    assert {name: removed[name] for name in removed if name.startswith("artifact_")} == {
        "artifact_model": 1,
        "artifact_staging": 1,
        "artifact_checkpoint": 1,
        "artifact_embeddings": 1,
    }


def test_deleting_a_dataset_removes_its_cached_embeddings(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    dataset_id = create_dataset(client, team)
    cached = old_dir(LocalStore(settings.artifact_root).embeddings(dataset_id).local, hours=0)

    response = client.delete(f"/v1/datasets/{dataset_id}", headers=team.headers)

    assert response.status_code == 204
    assert not cached.exists()


def test_unused_dataset_versions_go_and_the_versions_after_them_keep_their_lineage(
    client: TestClient, team: TeamCredentials, session: Session, settings: Settings
) -> None:
    trigger = create_trigger(client, team)
    answers = [
        fire(client, trigger, f"call-{n}", [{"text": f"hey there number {n}", "label": "greeting"}])
        for n in range(3)
    ]
    trained_on, superseded, current = (answer.json()["dataset_id"] for answer in answers)
    age(session, Dataset, 31)

    removed = sweep(settings)

    session.expire_all()
    assert removed["dataset_version"] == 1
    assert session.get(Dataset, superseded) is None
    assert session.get_one(Dataset, current).parent_id == trained_on
    assert session.get(Dataset, trained_on) is not None
    assert session.scalar(select(func.count()).where(DatasetExample.dataset_id == superseded)) == 0
    assert client.get(f"/v1/datasets/{current}", headers=team.headers).status_code == 200
    texts = [example.text for example in datasets.get_examples(session, dataset_id=current)]
    assert texts[-3:] == [f"hey there number {n}" for n in range(3)]
    assert len(texts) == session.get_one(Dataset, current).num_examples
