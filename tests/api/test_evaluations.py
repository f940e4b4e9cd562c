from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import INTENTS, TeamCredentials, example_rows, run_queued_jobs, trained_model


def evaluate(client: TestClient, team: TeamCredentials, model_id: str, dataset_id: str) -> object:
    return client.post(
        f"/v1/models/{model_id}/evaluate", headers=team.headers, json={"dataset_id": dataset_id}
    )


def test_evaluation_runs_as_a_job_on_a_worker_and_keeps_the_report(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    dataset = client.post(
        "/v1/datasets", headers=team.headers, json={"examples": example_rows()}
    ).json()

    queued = evaluate(client, team, model["id"], dataset["id"])
    assert queued.status_code == 202, queued.text  # type: ignore[attr-defined]
    job = queued.json()  # type: ignore[attr-defined]
    assert (job["kind"], job["status"], job["model_id"]) == ("evaluate", "queued", model["id"])
    assert queued.headers["Location"] == f"/v1/jobs/{job['id']}"  # type: ignore[attr-defined]
    on_dataset = {"dataset_id": dataset["id"]}
    path = f"/v1/models/{model['id']}/evaluation"
    assert client.get(path, headers=team.headers, params=on_dataset).status_code == 404

    run_queued_jobs(settings)
    done = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
    latest = client.get(path, headers=team.headers, params=on_dataset).json()
    validation = client.get(path, headers=team.headers).json()

    assert done["status"] == "succeeded", done
    assert done["progress"]["fraction"] == 1.0
    assert done["result"] == {"evaluation_id": latest["id"]}
    report = latest["report"]
    assert report["num_examples"] == 15
    assert {"accuracy", "macro_f1", "micro_f1", "expected_calibration_error"} <= set(report)
    assert [row["support"] for row in report["per_label"].values()] == [5, 5, 5]
    assert validation["kind"] == "validation"
    assert validation["dataset_id"] is None


def test_an_evaluation_of_a_model_deleted_before_it_ran_fails_saying_so(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    dataset = client.post(
        "/v1/datasets", headers=team.headers, json={"examples": example_rows()}
    ).json()
    job = evaluate(client, team, model["id"], dataset["id"]).json()  # type: ignore[attr-defined]

    assert client.delete(f"/v1/models/{model['id']}", headers=team.headers).status_code == 204
    run_queued_jobs(settings)
    done = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()

    assert done["status"] == "failed"
    assert done["error"]["code"] == "model_gone"


def test_evaluate_rejects_a_dataset_with_other_labels(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    other = {"weather": ["is it raining", "sunny today?"], **INTENTS}
    dataset = client.post(
        "/v1/datasets", headers=team.headers, json={"examples": example_rows(other)}
    ).json()

    response = evaluate(client, team, model["id"], dataset["id"])

    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "weather" in response.json()["detail"]  # type: ignore[attr-defined]


def test_evaluation_of_another_teams_model_or_dataset_is_404(
    client: TestClient, team: TeamCredentials, other_team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    theirs = client.post(
        "/v1/datasets", headers=other_team.headers, json={"examples": example_rows()}
    ).json()

    on_their_dataset = evaluate(client, team, model["id"], theirs["id"])
    their_view = client.get(f"/v1/models/{model['id']}/evaluation", headers=other_team.headers)
    their_evaluate = evaluate(client, other_team, model["id"], theirs["id"])

    assert on_their_dataset.status_code == 422  # type: ignore[attr-defined]
    assert their_view.status_code == 404
    assert their_evaluate.status_code == 404  # type: ignore[attr-defined]
