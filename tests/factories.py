import csv
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.schemas.team import DEFAULT_SCOPES
from app.services import teams
from tests.tiny_model import TINY_BASE_MODEL
from workers.runner import run_next


@dataclass(frozen=True)
class TeamCredentials:
    team_id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


OWNER_SCOPES = teams.SCOPES
PRODUCT_SCOPES = DEFAULT_SCOPES


def make_team(
    session: Session, name: str, scopes: tuple[str, ...] = OWNER_SCOPES
) -> TeamCredentials:
    """A team and one key; by default with every scope, as the first key of a team has."""
    team = teams.create(session, name=name)
    _, secret = teams.create_key(session, team_id=team.id, name="test", scopes=list(scopes))
    session.commit()
    return TeamCredentials(team.id, secret)


INTENTS = {
    "greeting": ["hello there", "hi, how are you", "good morning", "hey friend", "greetings"],
    "farewell": ["goodbye", "see you later", "bye for now", "take care", "until next time"],
    "billing": [
        "my invoice is wrong",
        "refund my payment",
        "charge on my card",
        "billing issue",
        "pay my bill",
    ],
}


def example_rows(intents: dict[str, list[str]] = INTENTS) -> list[dict[str, str]]:
    return [{"text": text, "label": label} for label, texts in intents.items() for text in texts]


def csv_bytes(rows: list[dict[str, Any]], columns: tuple[str, ...] = ("text", "label")) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[column] for column in columns])
    return buffer.getvalue().encode()


def upload_csv(client: TestClient, team: TeamCredentials, content: bytes, **fields: str) -> Any:
    return client.post(
        "/v1/datasets",
        headers=team.headers,
        files={"file": ("data.csv", content, "text/csv")},
        data=fields,
    )


def create_dataset(client: TestClient, team: TeamCredentials) -> str:
    response = client.post(
        "/v1/datasets", headers=team.headers, json={"name": "intents", "examples": example_rows()}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def create_job(
    client: TestClient, team: TeamCredentials, dataset_id: str = "", **overrides: Any
) -> Any:
    body = {
        "dataset_id": dataset_id,
        "strategy": "full",
        "base_model": TINY_BASE_MODEL,
        "hyperparameters": {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3},
        "validation_split": 0.2,
        **overrides,
    }
    return client.post("/v1/jobs", headers=team.headers, json=body)


def run_queued_jobs(settings: Settings) -> None:
    """Runs every queued job through the same code path the embedded runner and Celery use."""
    while run_next(settings, worker="test-runner"):
        pass


@contextmanager
def jobs_running(settings: Settings) -> Iterator[None]:
    """A runner in a thread for the duration: every job queued meanwhile is run, as the
    embedded runner would, for callers that wait on a job they queue themselves."""
    stopping = threading.Event()

    def run() -> None:
        while not stopping.is_set():
            if not run_next(settings, worker="test-runner"):
                stopping.wait(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopping.set()
        thread.join()


def trained_model(client: TestClient, team: TeamCredentials, settings: Settings) -> dict[str, Any]:
    job = create_job(client, team, create_dataset(client, team)).json()
    run_queued_jobs(settings)
    finished = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
    assert finished["status"] == "succeeded", finished
    model: dict[str, Any] = client.get(
        f"/v1/models/{finished['model_id']}", headers=team.headers
    ).json()
    return model
