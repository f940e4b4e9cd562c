import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import TeamCredentials, create_job, run_queued_jobs, upload_csv

TAGGED = [
    ("my invoice is wrong and I want a refund", ["billing", "refund"]),
    ("refund the double charge", ["billing", "refund"]),
    ("charge on my card", ["billing"]),
    ("pay my bill", ["billing"]),
    ("the app crashes on start", ["bug"]),
    ("error when I log in", ["bug"]),
    ("the app crashed and charged me twice", ["bug", "billing"]),
    ("I want my money back for the crash", ["refund", "bug"]),
    ("thanks, all good", []),
    ("hello there", []),
]


def upload_tagged(client: TestClient, team: TeamCredentials, copies: int = 1) -> dict[str, Any]:
    examples = [
        {"text": f"{text}{' please' * copy}", "labels": labels}
        for copy in range(copies)
        for text, labels in TAGGED
    ]
    response = client.post("/v1/datasets", headers=team.headers, json={"examples": examples})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_upload_multi_label_json_counts_every_label(
    client: TestClient, team: TeamCredentials
) -> None:
    dataset = upload_tagged(client, team)

    assert dataset["multi_label"] is True
    assert dataset["labels"] == {"billing": 5, "bug": 4, "refund": 3}


def test_upload_multi_label_csv_and_jsonl(client: TestClient, team: TeamCredentials) -> None:
    rows = "".join(f'"{text}","{"|".join(labels)}"\n' for text, labels in TAGGED)
    from_csv = upload_csv(client, team, f"text,labels\n{rows}".encode())
    lines = "\n".join(json.dumps({"text": t, "labels": labels}) for t, labels in TAGGED)
    from_jsonl = client.post(
        "/v1/datasets",
        headers=team.headers,
        files={"file": ("data.jsonl", lines.encode(), "application/jsonl")},
    )

    for response in (from_csv, from_jsonl):
        assert response.status_code == 201, response.text
        assert response.json()["multi_label"] is True
        assert response.json()["labels"] == {"billing": 5, "bug": 4, "refund": 3}


@pytest.mark.parametrize(
    ("examples", "location", "fragment"),
    [
        (
            [{"text": "a", "labels": ["x"]}, {"text": "b", "label": "x"}],
            "examples[1]",
            "a list of labels",
        ),
        (
            [{"text": "a", "labels": ["x", ""]}, {"text": "b", "labels": ["x"]}],
            "examples[0]",
            "a label is empty",
        ),
        (
            [
                {"text": "a", "labels": ["x", "y"]},
                {"text": "a", "labels": ["x"]},
                {"text": "b", "labels": ["x", "y"]},
            ],
            "examples[1]",
            "keep one labeling",
        ),
        (
            [{"text": "a", "labels": ["x", "y"]}, {"text": "b", "labels": ["x"]}],
            "examples[0]",
            "label 'y' has only this example",
        ),
    ],
)
def test_upload_multi_label_rejects_bad_rows(
    client: TestClient,
    team: TeamCredentials,
    examples: list[dict[str, Any]],
    location: str,
    fragment: str,
) -> None:
    response = client.post("/v1/datasets", headers=team.headers, json={"examples": examples})

    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["location"] == location and fragment in e["message"] for e in errors), errors


def test_upload_multi_label_takes_the_same_labels_in_another_order_as_one_labeling(
    client: TestClient, team: TeamCredentials
) -> None:
    examples = [
        {"text": "a", "labels": ["x", "y"]},
        {"text": "a", "labels": ["y", "x"]},
        {"text": "b", "labels": ["x", "y"]},
    ]

    response = client.post("/v1/datasets", headers=team.headers, json={"examples": examples})

    assert response.status_code == 201, response.text
    assert response.json()["labels"] == {"x": 3, "y": 3}
    assert any("1 exact duplicate" in w for w in response.json()["warnings"])


@pytest.mark.parametrize(
    ("strategy", "hyperparameters"),
    [("frozen", {"epochs": 20, "learning_rate": 0.01}), ("lora", {"epochs": 2, "r": 4})],
)
def test_multi_label_model_predicts_every_label_above_its_threshold(
    client: TestClient,
    team: TeamCredentials,
    settings: Settings,
    strategy: str,
    hyperparameters: dict[str, Any],
) -> None:
    dataset = upload_tagged(client, team, copies=2)
    job = create_job(
        client,
        team,
        dataset["id"],
        strategy=strategy,
        hyperparameters=hyperparameters,
        validation_split=0.3,
    ).json()
    run_queued_jobs(settings)
    finished = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
    assert finished["status"] == "succeeded", finished
    model_id = finished["model_id"]

    model = client.get(f"/v1/models/{model_id}", headers=team.headers).json()
    everything = client.post(
        f"/v1/models/{model_id}/predict",
        headers=team.headers,
        json={"inputs": ["refund my card charge"], "thresholds": 0.0},
    ).json()["predictions"][0]
    nothing = client.post(
        f"/v1/models/{model_id}/predict",
        headers=team.headers,
        json={
            "inputs": ["refund my card charge"],
            "thresholds": {"bug": 1.0, "billing": 1.0, "refund": 1.0},
        },
    ).json()["predictions"][0]
    evaluation = client.get(f"/v1/models/{model_id}/evaluation", headers=team.headers).json()

    assert model["multi_label"] is True
    assert sorted(everything["labels"]) == ["billing", "bug", "refund"]
    assert all(score["score"] < 1.0 for score in nothing["scores"]) == (nothing["labels"] == [])
    assert sum(score["score"] for score in everything["scores"]) != pytest.approx(1.0)
    assert evaluation["report"]["multi_label"] is True
    assert set(evaluation["report"]["label_confusion"]) == {"billing", "bug", "refund"}


def test_thresholds_on_a_single_label_model_are_422(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    from tests.factories import trained_model

    model = trained_model(client, team, settings)

    response = client.post(
        f"/v1/models/{model['id']}/predict",
        headers=team.headers,
        json={"inputs": ["hi"], "thresholds": 0.5},
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "thresholds"
