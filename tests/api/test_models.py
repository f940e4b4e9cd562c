from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from transformers import AutoConfig

from app.core.config import Settings
from tests.factories import TeamCredentials, trained_model
from tests.standalone import best, card_scores

TEXTS = ["refund my payment please", "hello there", "see you tomorrow"]


@pytest.fixture
def model(client: TestClient, team: TeamCredentials, settings: Settings) -> dict[str, object]:
    return trained_model(client, team, settings)


def predict(client: TestClient, team: TeamCredentials, model_id: object, body: object) -> object:
    return client.post(f"/v1/models/{model_id}/predict", headers=team.headers, json=body)


def test_predict_returns_label_score_and_all_scores(
    client: TestClient, team: TeamCredentials, model: dict[str, object]
) -> None:
    response = predict(client, team, model["id"], {"inputs": TEXTS})

    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["model_id"] == model["id"]
    assert len(body["predictions"]) == 3
    for prediction in body["predictions"]:
        scores = prediction["scores"]
        assert {s["label"] for s in scores} == {"billing", "farewell", "greeting"}
        assert sum(s["score"] for s in scores) == pytest.approx(1.0, abs=1e-5)
        assert scores == sorted(scores, key=lambda s: -s["score"])
        assert (prediction["label"], prediction["score"]) == (
            scores[0]["label"],
            scores[0]["score"],
        )


def test_predict_single_text_with_top_k(
    client: TestClient, team: TeamCredentials, model: dict[str, object]
) -> None:
    response = predict(client, team, model["id"], {"inputs": "hello there", "top_k": 1})

    predictions = response.json()["predictions"]  # type: ignore[attr-defined]
    assert len(predictions) == 1
    assert len(predictions[0]["scores"]) == 1


def test_predict_without_top_k_answers_at_most_the_servers_default(
    client: TestClient, team: TeamCredentials, model: dict[str, object], settings: Settings
) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    serving = state.serving
    capped_settings = settings.model_copy(update={"predict_default_top_k": 2})
    state.serving = replace(serving, settings=capped_settings)

    capped = predict(client, team, model["id"], {"inputs": "hello there"})
    asked = predict(client, team, model["id"], {"inputs": "hello there", "top_k": 3})

    assert len(capped.json()["predictions"][0]["scores"]) == 2  # type: ignore[attr-defined]
    assert len(asked.json()["predictions"][0]["scores"]) == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"inputs": []}, "inputs"),
        ({"inputs": ["ok", "   "]}, "inputs[1]"),
        ({"inputs": ["x" * 20_001]}, "inputs[0]"),
        ({"inputs": ["a"] * 257}, "inputs"),
        ({"inputs": ["a"], "top_k": 0}, "top_k"),
        ({"texts": ["a"]}, "texts"),
    ],
)
def test_predict_rejects_bad_inputs(
    client: TestClient,
    team: TeamCredentials,
    model: dict[str, object],
    body: dict[str, object],
    location: str,
) -> None:
    response = predict(client, team, model["id"], body)

    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    locations = [e["location"] for e in response.json()["errors"]]  # type: ignore[attr-defined]
    assert location in locations


def test_predict_unknown_model_is_404(client: TestClient, team: TeamCredentials) -> None:
    response = predict(client, team, "mdl_unknown", {"inputs": ["hello"]})

    assert response.status_code == 404  # type: ignore[attr-defined]
    assert response.json()["detail"] == "model or alias mdl_unknown not found"  # type: ignore[attr-defined]


def test_model_artifact_loads_in_transformers_with_same_predictions(
    client: TestClient, team: TeamCredentials, model: dict[str, object], settings: Settings
) -> None:
    directory = settings.artifact_root / str(model["id"])
    served = predict(client, team, model["id"], {"inputs": TEXTS}).json()["predictions"]  # type: ignore[attr-defined]

    loaded = card_scores(directory, TEXTS)

    assert (directory / "model.safetensors").is_file()
    config = AutoConfig.from_pretrained(directory)
    assert config.id2label == {0: "billing", 1: "farewell", 2: "greeting"}
    assert config.adaptd_pooling == "mean"
    for scores, prediction in zip(loaded, served, strict=True):
        label, score = best(scores)
        assert label == prediction["label"]
        assert score == pytest.approx(prediction["score"], abs=1e-5)


def test_delete_model_removes_artifact(
    client: TestClient, team: TeamCredentials, model: dict[str, object], settings: Settings
) -> None:
    directory = settings.artifact_root / str(model["id"])
    predict(client, team, model["id"], {"inputs": ["warm the cache"]})

    response = client.delete(f"/v1/models/{model['id']}", headers=team.headers)

    assert response.status_code == 204
    assert not directory.exists()
    assert client.get(f"/v1/models/{model['id']}", headers=team.headers).status_code == 404
    assert predict(client, team, model["id"], {"inputs": ["x"]}).status_code == 404  # type: ignore[attr-defined]


def test_list_models(client: TestClient, team: TeamCredentials, model: dict[str, object]) -> None:
    response = client.get("/v1/models", headers=team.headers)

    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == [model["id"]]
    assert response.json()["has_more"] is False
