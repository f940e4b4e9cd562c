import csv
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import new_session
from app.main import create_app
from tests.conftest import CLINC150
from tests.factories import make_team, run_queued_jobs
from tests.standalone import best, card_scores

pytestmark = pytest.mark.e2e

INTENTS = ("alarm", "balance", "book_flight", "weather")


def clinc_subset(split: str, per_intent: int) -> list[dict[str, str]]:
    taken: dict[str, int] = defaultdict(int)
    rows = []
    with (CLINC150 / f"{split}.csv").open(newline="") as file:
        for row in csv.DictReader(file):
            if row["label"] in INTENTS and taken[row["label"]] < per_intent:
                taken[row["label"]] += 1
                rows.append(row)
    return rows


@pytest.mark.slow
def test_minilm_full_job_learns_clinc_subset_and_loads_in_transformers(
    sqlite_settings: Settings,
) -> None:
    settings = sqlite_settings
    test_rows = clinc_subset("test", 5)
    texts = [row["text"] for row in test_rows]
    with TestClient(create_app(settings)) as client:
        with new_session(settings) as session:
            team = make_team(session, "acme")
        dataset = client.post(
            "/v1/datasets", headers=team.headers, json={"examples": clinc_subset("train", 16)}
        ).json()
        job = client.post(
            "/v1/jobs",
            headers=team.headers,
            json={
                "dataset_id": dataset["id"],
                "hyperparameters": {"epochs": 4, "batch_size": 16, "learning_rate": 2e-4},
                "validation_split": 0.25,
            },
        ).json()
        run_queued_jobs(settings)
        done = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
        served = client.post(
            f"/v1/models/{done['model_id']}/predict", headers=team.headers, json={"inputs": texts}
        ).json()["predictions"]

    loaded = card_scores(settings.artifact_root / done["model_id"], texts)
    accuracy = sum(p["label"] == r["label"] for p, r in zip(served, test_rows, strict=True)) / len(
        texts
    )

    assert done["status"] == "succeeded", done
    assert done["base_model"] == "all-MiniLM-L6-v2"
    assert done["metrics"]["accuracy"] >= 0.75
    assert accuracy >= 0.75, served
    for scores, prediction in zip(loaded, served, strict=True):
        label, score = best(scores)
        assert label == prediction["label"]
        assert score == pytest.approx(prediction["score"], abs=1e-4)
