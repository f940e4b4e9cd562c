from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.ml.out_of_scope import choose_threshold
from tests.factories import INTENTS, TeamCredentials, create_job, example_rows, run_queued_jobs

TEXTS = ["refund my payment please", "hello there", "what is the capital of peru"]
OUT_OF_SCOPE = ["what is the capital of peru", "play some jazz", "how tall is a giraffe"]


def train(client: TestClient, team: TeamCredentials, settings: Settings, rows: Any) -> Any:
    dataset = client.post("/v1/datasets", headers=team.headers, json={"examples": rows}).json()
    job = create_job(client, team, dataset["id"], validation_split=0.4).json()
    run_queued_jobs(settings)
    done = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
    assert done["status"] == "succeeded", done
    return client.get(f"/v1/models/{done['model_id']}", headers=team.headers).json()


def predict(client: TestClient, team: TeamCredentials, model_id: str, **body: Any) -> Any:
    answer = client.post(
        f"/v1/models/{model_id}/predict", headers=team.headers, json={"inputs": TEXTS, **body}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


def test_model_abstains_under_its_threshold_and_a_request_may_override_it(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = train(client, team, settings, example_rows())
    assert model["abstain_threshold"] is None

    patched = client.patch(
        f"/v1/models/{model['id']}", headers=team.headers, json={"abstain_threshold": 0.99}
    )
    abstaining = predict(client, team, model["id"])
    answering = predict(client, team, model["id"], abstain_threshold=None)
    low = predict(client, team, model["id"], abstain_threshold=0.0)

    assert patched.status_code == 200, patched.text
    assert patched.json()["abstain_threshold"] == 0.99
    assert all(p["abstained"] and p["label"] is None and p["labels"] == [] for p in abstaining)
    assert all(p["scores"] and p["score"] < 0.99 for p in abstaining)
    for predictions in (answering, low):
        assert not any(p["abstained"] for p in predictions)
        assert all(p["label"] in INTENTS and p["labels"] == [p["label"]] for p in predictions)


def test_training_with_an_out_of_scope_label_chooses_the_threshold_on_validation_data(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    rows = example_rows() + [{"text": text, "label": "oos"} for text in OUT_OF_SCOPE * 2]

    model = train(client, team, settings, rows)
    report = client.get(f"/v1/models/{model['id']}/evaluation", headers=team.headers).json()[
        "report"
    ]

    assert report["out_of_scope_label"] == "oos"
    sweep = report["threshold_sweep"]
    assert {"out_of_scope_recall", "out_of_scope_precision"} <= set(sweep[0])
    assert model["abstain_threshold"] == choose_threshold(sweep)


@pytest.mark.parametrize(
    ("body", "status"), [({"abstain_threshold": 1.5}, 422), ({"threshold": 0.5}, 422)]
)
def test_update_model_rejects_what_it_cannot_set(
    client: TestClient, team: TeamCredentials, settings: Settings, body: Any, status: int
) -> None:
    model = train(client, team, settings, example_rows())

    answer = client.patch(f"/v1/models/{model['id']}", headers=team.headers, json=body)

    assert answer.status_code == status, answer.text
    assert answer.json()["errors"][0]["location"].endswith(next(iter(body)))


def test_multi_label_models_take_thresholds_not_an_abstain_threshold(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    rows = [{"text": row["text"], "labels": [row["label"]]} for row in example_rows()]
    model = train(client, team, settings, rows)

    patched = client.patch(
        f"/v1/models/{model['id']}", headers=team.headers, json={"abstain_threshold": 0.5}
    )
    asked = client.post(
        f"/v1/models/{model['id']}/predict",
        headers=team.headers,
        json={"inputs": TEXTS, "abstain_threshold": 0.5},
    )

    assert model["multi_label"] is True
    for answer in (patched, asked):
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["location"] == "abstain_threshold"
        assert "single-label models only" in answer.json()["detail"]
