"""Event streams are bounded: a lifetime, a revoked key's stream ends, a cap per key."""

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.main import create_app
from app.models import ApiKey
from app.models.base import utcnow
from tests.factories import TeamCredentials, create_dataset, create_job


@pytest.fixture
def stream_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "event_stream_max_seconds": 30.0,
            "event_stream_key_check_seconds": 0.2,
            "event_stream_max_per_key": 1,
        }
    )


@pytest.fixture
def stream_client(stream_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(stream_settings)) as client:
        yield client


def queued_job(client: TestClient, team: TeamCredentials) -> str:
    """A job no runner takes here: its stream would stay open forever."""
    return str(create_job(client, team, create_dataset(client, team)).json()["id"])


def read_all(client: TestClient, team: TeamCredentials, job_id: str) -> str:
    path = f"/v1/jobs/{job_id}/events/stream"
    with client.stream("GET", path, headers=team.headers) as response:
        assert response.status_code == 200
        return "".join(response.iter_text())


def test_a_stream_ends_at_its_maximum_lifetime(settings: Settings, team: TeamCredentials) -> None:
    short = settings.model_copy(update={"event_stream_max_seconds": 1.0})
    with TestClient(create_app(short)) as client:
        text = read_all(client, team, queued_job(client, team))

    assert "event: progress" in text, "it streamed before it ended"


def test_a_revoked_keys_stream_ends_and_frees_its_slot(
    stream_client: TestClient, team: TeamCredentials, session: Session
) -> None:
    job_id = queued_job(stream_client, team)
    opened = threading.Event()
    received: list[str] = []

    def follow() -> None:
        path = f"/v1/jobs/{job_id}/events/stream"
        with stream_client.stream("GET", path, headers=team.headers) as response:
            for chunk in response.iter_text():
                received.append(chunk)
                opened.set()

    reader = threading.Thread(target=follow)
    reader.start()
    assert opened.wait(20)
    second = stream_client.get(f"/v1/jobs/{job_id}/events/stream", headers=team.headers)
    session.execute(
        update(ApiKey).where(ApiKey.team_id == team.team_id).values(revoked_at=utcnow())
    )
    session.commit()
    reader.join(20)

    assert second.status_code == 429
    assert second.headers["Retry-After"] == "5"
    assert "event streams open" in second.json()["detail"]
    assert not reader.is_alive(), "the revoked key's stream ended"
    assert stream_client.app.state.stream_slots._open == {}  # type: ignore[attr-defined]
