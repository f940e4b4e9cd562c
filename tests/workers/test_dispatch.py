from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import Job
from app.models.base import utcnow
from app.services import leases
from tests.factories import TeamCredentials, create_dataset, create_job
from workers.maintenance import dispatch_due


def queued_job(client: TestClient, team: TeamCredentials) -> str:
    job_id: str = create_job(client, team, create_dataset(client, team)).json()["id"]
    return job_id


def test_dispatch_publishes_never_published_jobs_once(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = queued_job(client, team)
    sent: list[str] = []

    first = dispatch_due(settings, sent.append)
    second = dispatch_due(settings, sent.append)

    session.expire_all()
    assert first == [job_id]
    assert second == []
    assert sent == [job_id]
    assert session.get_one(Job, job_id).published_at is not None


def test_dispatch_keeps_jobs_the_broker_refused(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = queued_job(client, team)

    def broker_down(_job_id: str) -> None:
        raise ConnectionError("redis is restarting")

    assert dispatch_due(settings, broker_down) == []
    assert dispatch_due(settings, lambda _job_id: None) == [job_id]


def test_dispatch_republishes_a_publication_that_may_be_lost(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = queued_job(client, team)
    row = session.get_one(Job, job_id)
    row.published_at = utcnow() - timedelta(seconds=settings.republish_after_seconds + 60)
    session.commit()
    sent: list[str] = []

    dispatch_due(settings, sent.append)

    assert sent == [job_id]


def test_dispatch_leaves_running_jobs_alone(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    job_id = queued_job(client, team)
    leases.claim(session, job_id=job_id, worker="w")
    sent: list[str] = []

    dispatch_due(settings, sent.append)

    assert sent == []
