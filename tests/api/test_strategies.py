from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import (
    INTENTS,
    TeamCredentials,
    create_dataset,
    create_job,
    example_rows,
    run_queued_jobs,
)

STRATEGY_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "full": {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3},
    "lora": {"epochs": 2, "batch_size": 4, "r": 4, "alpha": 8},
    "frozen": {"epochs": 5},
    "few_shot": {"epochs": 5, "contrastive_epochs": 1, "contrastive_batch_size": 8},
    "zero_shot": {},
}


def finished_job(client: TestClient, team: TeamCredentials, settings: Settings, **body: Any) -> Any:
    response = create_job(client, team, **body)
    assert response.status_code == 202, response.text
    run_queued_jobs(settings)
    return client.get(f"/v1/jobs/{response.json()['id']}", headers=team.headers).json()


@pytest.mark.parametrize("strategy", list(STRATEGY_HYPERPARAMETERS))
def test_train_model_with_each_strategy_serves_and_evaluates(
    client: TestClient, team: TeamCredentials, settings: Settings, strategy: str
) -> None:
    job = finished_job(
        client,
        team,
        settings,
        dataset_id=create_dataset(client, team),
        strategy=strategy,
        hyperparameters=STRATEGY_HYPERPARAMETERS[strategy],
        validation_split=None if strategy == "zero_shot" else 0.2,
    )

    assert job["status"] == "succeeded", job
    assert job["strategy"] == job["requested_strategy"] == strategy
    model = client.get(f"/v1/models/{job['model_id']}", headers=team.headers).json()
    assert model["strategy"] == strategy
    assert model["labels"] == sorted(INTENTS)
    predictions = client.post(
        f"/v1/models/{model['id']}/predict",
        headers=team.headers,
        json={"inputs": ["refund my payment", "hello"]},
    ).json()["predictions"]
    assert [p["labels"] for p in predictions] == [[p["label"]] for p in predictions]
    evaluation = client.get(f"/v1/models/{model['id']}/evaluation", headers=team.headers)
    assert evaluation.status_code == 200, evaluation.text
    report = evaluation.json()["report"]
    assert report["num_examples"] == (15 if strategy == "zero_shot" else 3)
    assert set(report["per_label"]) == set(INTENTS)
    assert sum(map(sum, report["confusion_matrix"]["matrix"])) == report["num_examples"]


def test_zero_shot_without_a_dataset_classifies_by_descriptions(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    descriptions = {"billing": "payments and invoices", "greeting": "saying hello"}

    job = finished_job(
        client,
        team,
        settings,
        dataset_id=None,
        strategy="zero_shot",
        label_descriptions=descriptions,
        hyperparameters={},
        validation_split=None,
    )

    assert job["status"] == "succeeded", job
    assert job["dataset_id"] is None
    assert job["label_descriptions"] == descriptions
    model_id = job["model_id"]
    answer = client.post(
        f"/v1/models/{model_id}/predict", headers=team.headers, json={"inputs": "hi"}
    )
    assert {s["label"] for s in answer.json()["predictions"][0]["scores"]} == set(descriptions)
    missing = client.get(f"/v1/models/{model_id}/evaluation", headers=team.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "location", "fragment"),
    [
        ({"strategy": "full", "per_label": 3}, "strategy", "few_shot"),
        ({"strategy": "lora", "per_label": 3}, "strategy", "few_shot"),
        ({"strategy": "frozen", "hyperparameters": {"r": 4}}, "hyperparameters.r", "frozen"),
        (
            {"strategy": "zero_shot", "hyperparameters": {"scale": -1}},
            "hyperparameters.scale",
            "greater than 0",
        ),
        ({"strategy": "full", "dataset_id": None}, "dataset_id", "zero_shot"),
        (
            {"strategy": "few_shot", "label_descriptions": {"refunds": "money back"}},
            "label_descriptions",
            "refunds",
        ),
    ],
)
def test_create_job_rejects_a_strategy_that_does_not_fit(
    client: TestClient,
    team: TeamCredentials,
    body: dict[str, Any],
    location: str,
    fragment: str,
) -> None:
    body = dict(body)
    per_label = body.pop("per_label", 5)
    intents = {label: texts[:per_label] for label, texts in INTENTS.items()}
    dataset = client.post(
        "/v1/datasets", headers=team.headers, json={"examples": example_rows(intents)}
    ).json()
    body = {"dataset_id": dataset["id"], "hyperparameters": {}, **body}

    response = create_job(client, team, **body)

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["location"] == location
    assert fragment in error["message"]


def test_frozen_jobs_on_the_same_dataset_encode_it_once(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    dataset_id = create_dataset(client, team)
    body = {"dataset_id": dataset_id, "strategy": "frozen", "hyperparameters": {"epochs": 2}}

    first = finished_job(client, team, settings, **body)
    second = finished_job(client, team, settings, **{**body, "hyperparameters": {"epochs": 3}})

    assert first["metrics"]["encoded_texts"] == 15
    assert second["metrics"]["encoded_texts"] == 0
    assert second["hyperparameters"]["epochs"] == 3


def _upload_examples(client: TestClient, team: TeamCredentials, name: str, per_label: int) -> str:
    examples = [
        {"text": f"{name} {label} {index}", "label": label}
        for label in ("billing", "greeting")
        for index in range(per_label)
    ]
    answer = client.post(
        "/v1/datasets", headers=team.headers, json={"name": name, "examples": examples}
    )
    return str(answer.json()["id"])


def _warnings_of(client: TestClient, team: TeamCredentials, job_id: str) -> list[str]:
    events = client.get(f"/v1/jobs/{job_id}/events", headers=team.headers).json()["data"]
    return [event["message"] for event in events if event["type"] == "warning"]


@pytest.mark.parametrize(
    ("per_label", "validation_per_label", "warned"), [(2, 0, True), (4, 0, False), (2, 2, False)]
)
def test_zero_shot_warns_when_its_texts_are_too_few_to_adapt_to(
    client: TestClient,
    team: TeamCredentials,
    per_label: int,
    validation_per_label: int,
    warned: bool,
) -> None:
    validation = (
        _upload_examples(client, team, "validation", validation_per_label)
        if validation_per_label
        else None
    )
    job = create_job(
        client,
        team,
        _upload_examples(client, team, "train", per_label),
        strategy="zero_shot",
        hyperparameters={},
        validation_split=None,
        validation_dataset_id=validation,
    ).json()

    warnings = _warnings_of(client, team, job["id"])
    expected = "4 texts for 2 labels are too few to adapt to (at least 4 per label, 8)"
    assert [warning.startswith(expected) for warning in warnings] == ([True] if warned else [])


@pytest.mark.parametrize("strategy", ["frozen", "auto"])
def test_a_job_warns_when_it_would_validate_on_too_few_texts(
    client: TestClient, team: TeamCredentials, strategy: str
) -> None:
    dataset = _upload_examples(client, team, "train", per_label=40)
    job = create_job(
        client, team, dataset, strategy=strategy, hyperparameters={}, validation_split=None
    )

    assert job.status_code == 202, job.text
    [warning] = _warnings_of(client, team, job.json()["id"])
    assert warning.startswith(
        "the job validates on 8 texts (held out of the dataset by validation_split 0.1): one "
        "text moves its validation accuracy by 12.5 points"
    )
    assert ("the strategy `auto` chooses" in warning) == (strategy == "auto")
    assert "give a validation_dataset_id with at least 100 labeled texts" in warning


@pytest.mark.parametrize(("per_label", "warned"), [(20, True), (50, False)])
def test_a_small_validation_dataset_is_warned_of_and_a_large_one_is_not(
    client: TestClient, team: TeamCredentials, per_label: int, warned: bool
) -> None:
    dataset = _upload_examples(client, team, "train", per_label=40)
    validation = _upload_examples(client, team, "validation", per_label=per_label)

    job = create_job(
        client,
        team,
        dataset,
        strategy="frozen",
        hyperparameters={},
        validation_split=None,
        validation_dataset_id=validation,
    ).json()

    warnings = _warnings_of(client, team, job["id"])
    expected = f"the job validates on 40 texts (validation dataset {validation}): one text"
    assert [warning.startswith(expected) for warning in warnings] == ([True] if warned else [])
