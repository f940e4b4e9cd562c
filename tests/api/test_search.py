from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import TeamCredentials, create_dataset, create_job, run_queued_jobs


def test_a_job_with_search_reports_every_trial_and_publishes_the_best(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    created = create_job(
        client,
        team,
        create_dataset(client, team),
        strategy="frozen",
        hyperparameters={"epochs": 5},
        search={"trials": 3},
    )
    assert created.status_code == 202, created.text
    run_queued_jobs(settings)

    job = client.get(f"/v1/jobs/{created.json()['id']}", headers=team.headers).json()
    events = client.get(f"/v1/jobs/{job['id']}/events", headers=team.headers).json()["data"]

    assert job["status"] == "succeeded", job
    search = job["search"]
    assert (search["trials"], search["given"]) == (3, {"epochs": 5})
    assert [trial["number"] for trial in search["results"]] == [0, 1, 2]
    best = next(t for t in search["results"] if t["number"] == search["best_trial"])
    assert best["validation_score"] == max(t["validation_score"] for t in search["results"])
    assert job["metrics"]["accuracy"] == best["validation_score"]
    assert job["metrics"]["search_trials"] == 3
    assert job["hyperparameters"]["epochs"] == 5
    assert job["hyperparameters"]["learning_rate"] == best["params"]["learning_rate"]
    trial_events = [e for e in events if e["message"].startswith("search: trial")]
    assert len(trial_events) == 3


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {"strategy": "zero_shot", "hyperparameters": {}, "search": {"trials": 2}},
            "no hyperparameters to search",
        ),
        ({"strategy": "auto", "hyperparameters": {}, "search": {"trials": 2}}, "`auto`"),
        ({"search": {"trials": 0}}, "greater than or equal to 1"),
    ],
)
def test_a_search_that_cannot_run_is_refused(
    client: TestClient, team: TeamCredentials, body: dict[str, Any], fragment: str
) -> None:
    response = create_job(client, team, create_dataset(client, team), **body)

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["location"].startswith("search")
    assert fragment in error["message"]
