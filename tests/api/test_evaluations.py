from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import INTENTS, TeamCredentials, example_rows, trained_model


def evaluate(client: TestClient, team: TeamCredentials, model_id: str, dataset_id: str) -> object:
    return client.post(
        f"/v1/models/{model_id}/evaluate", headers=team.headers, json={"dataset_id": dataset_id}
    )


def test_evaluate_model_on_a_dataset_keeps_the_report(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    dataset = client.post(
        "/v1/datasets", headers=team.headers, json={"examples": example_rows()}
    ).json()

    created = evaluate(client, team, model["id"], dataset["id"])
    latest = client.get(
        f"/v1/models/{model['id']}/evaluation",
        headers=team.headers,
        params={"dataset_id": dataset["id"]},
    )
    validation = client.get(f"/v1/models/{model['id']}/evaluation", headers=team.headers)

    assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    report = created.json()["report"]  # type: ignore[attr-defined]
    assert report["num_examples"] == 15
    assert {"accuracy", "macro_f1", "micro_f1", "expected_calibration_error"} <= set(report)
    assert [row["support"] for row in report["per_label"].values()] == [5, 5, 5]
    assert latest.json() == created.json()  # type: ignore[attr-defined]
    assert validation.json()["kind"] == "validation"
    assert validation.json()["dataset_id"] is None


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
