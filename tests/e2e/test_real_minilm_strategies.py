import csv
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import new_session
from app.main import create_app
from tests.conftest import CLINC150
from tests.factories import TeamCredentials, make_team, run_queued_jobs

pytestmark = pytest.mark.e2e

SHOTS = 4


def clinc_rows(split: str) -> dict[str, list[str]]:
    by_label: dict[str, list[str]] = defaultdict(list)
    with (CLINC150 / f"{split}.csv").open(newline="") as file:
        for row in csv.DictReader(file):
            by_label[row["label"]].append(row["text"])
    return by_label


def accuracy(
    client: TestClient, team: TeamCredentials, model_id: str, test: list[tuple[str, str]]
) -> float:
    predictions = client.post(
        f"/v1/models/{model_id}/predict",
        headers=team.headers,
        json={"inputs": [text for text, _ in test]},
    ).json()["predictions"]
    hits = sum(p["label"] == label for p, (_, label) in zip(predictions, test, strict=True))
    return hits / len(test)


def train(client: TestClient, team: TeamCredentials, settings: Settings, body: Any) -> str:
    job = client.post("/v1/jobs", headers=team.headers, json=body).json()
    run_queued_jobs(settings)
    done = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
    assert done["status"] == "succeeded", done
    return str(done["model_id"])


@pytest.mark.slow
def test_minilm_few_shot_beats_frozen_and_zero_shot_gains_from_the_job_texts(
    sqlite_settings: Settings,
) -> None:
    settings = sqlite_settings
    intents = sorted(label for label in clinc_rows("train") if label != "oos")[::8]
    train_rows, test_rows = clinc_rows("train"), clinc_rows("test")
    examples = [{"text": t, "label": label} for label in intents for t in train_rows[label][:SHOTS]]
    test = [(t, label) for label in intents for t in test_rows[label][:10]]
    with TestClient(create_app(settings)) as client:
        with new_session(settings) as session:
            team = make_team(session, "acme")
        dataset = client.post(
            "/v1/datasets", headers=team.headers, json={"examples": examples}
        ).json()
        common = {"dataset_id": dataset["id"], "validation_split": 0.25}
        frozen = train(
            client, team, settings, {**common, "strategy": "frozen", "hyperparameters": {}}
        )
        few_shot = train(
            client,
            team,
            settings,
            {**common, "strategy": "few_shot", "hyperparameters": {"contrastive_epochs": 4}},
        )
        zero_shot = train(
            client, team, settings, {"dataset_id": dataset["id"], "strategy": "zero_shot"}
        )
        names_only = train(
            client,
            team,
            settings,
            {
                "dataset_id": dataset["id"],
                "strategy": "zero_shot",
                "hyperparameters": {"adapt_to_texts": False},
            },
        )
        models = [("frozen", frozen), ("few_shot", few_shot), ("zero", zero_shot)]
        models.append(("names_only", names_only))
        scores = {name: accuracy(client, team, model_id, test) for name, model_id in models}

    assert len(intents) == 19
    assert scores["few_shot"] > scores["frozen"], scores
    assert scores["zero"] >= 0.5, scores
    assert scores["zero"] > scores["names_only"], scores
