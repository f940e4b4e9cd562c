from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import (
    TINY_BASE_MODEL,
    TeamCredentials,
    create_dataset,
    create_job,
    run_queued_jobs,
    trained_model,
)


def auto_job(client: TestClient, team: TeamCredentials, **body: Any) -> Any:
    return create_job(
        client, team, create_dataset(client, team), strategy="auto", hyperparameters={}, **body
    )


def test_auto_measures_the_strategies_that_fit_and_publishes_the_best_on_validation(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    created = auto_job(client, team, budget_seconds=900)
    assert created.status_code == 202, created.text
    queued = created.json()
    run_queued_jobs(settings)

    job = client.get(f"/v1/jobs/{queued['id']}", headers=team.headers).json()
    events = client.get(f"/v1/jobs/{queued['id']}/events", headers=team.headers).json()["data"]
    model = client.get(f"/v1/models/{job['model_id']}", headers=team.headers).json()

    assert (queued["strategy"], queued["budget_seconds"], queued["auto"]) == ("frozen", 900, None)
    assert "then measures `few_shot`, `lora`, `full` within 900 s" in queued["strategy_reason"]
    assert job["status"] == "succeeded", job
    decision = job["auto"]
    trials = {trial["strategy"]: trial for trial in decision["trials"]}
    assert list(trials) == ["frozen", "few_shot", "lora", "full"]
    assert decision["metric"] == "accuracy"
    complete = [t for t in decision["trials"] if t["outcome"] == "complete"]
    best = max(t["validation_score"] for t in complete)
    assert trials[decision["chosen"]]["validation_score"] == best
    assert job["strategy"] == model["strategy"] == decision["chosen"]
    assert job["strategy_reason"] == decision["reason"]
    assert job["metrics"]["accuracy"] == best
    assert job["requested_strategy"] == "auto"
    auto_events = [e["message"] for e in events if e["message"].startswith("auto: ")]
    assert auto_events[0].startswith("auto: `frozen` complete: validation accuracy")
    assert len(auto_events) >= len(trials)


def test_auto_budget_presets_are_seconds(client: TestClient, team: TeamCredentials) -> None:
    low = auto_job(client, team, budget="low").json()
    standard = auto_job(client, team).json()

    assert (low["budget"], low["budget_seconds"]) == ("low", 300)
    assert (standard["budget"], standard["budget_seconds"]) == ("standard", 1800)


def test_auto_without_examples_matches_label_descriptions(
    client: TestClient, team: TeamCredentials
) -> None:
    response = client.post(
        "/v1/jobs",
        headers=team.headers,
        json={
            "strategy": "auto",
            "base_model": TINY_BASE_MODEL,
            "label_descriptions": {"refunds": "money back", "greeting": "saying hello"},
        },
    )

    assert response.status_code == 202, response.text
    assert (response.json()["strategy"], response.json()["budget_seconds"]) == ("zero_shot", None)


@pytest.mark.parametrize(
    ("body", "location", "fragment"),
    [
        ({"hyperparameters": {"epochs": 3}}, "hyperparameters", "name a strategy"),
        ({"budget_seconds": 5}, "budget_seconds", "greater than or equal to 10"),
    ],
)
def test_auto_refuses_what_it_cannot_honour(
    client: TestClient,
    team: TeamCredentials,
    body: dict[str, Any],
    location: str,
    fragment: str,
) -> None:
    response = create_job(
        client, team, create_dataset(client, team), **{"strategy": "auto", **body}
    )

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["location"] == location
    assert fragment in error["message"]


def test_auto_does_not_continue_a_model(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)

    response = auto_job(client, team, init_from_model=model["id"])

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["location"] == "init_from_model"
