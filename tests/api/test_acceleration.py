from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from app.core.config import Settings
from app.ml import runtime
from app.ml.pooling import pooled_features
from app.ml.runtime import Backend
from app.serving.cache import ModelCache
from tests.factories import (
    TeamCredentials,
    create_dataset,
    create_job,
    example_rows,
    run_queued_jobs,
    trained_model,
)

FIRST_TEXTS = {row["label"]: row["text"] for row in reversed(example_rows())}
PROBE_TEXTS = [row["text"] for row in example_rows()] + list(FIRST_TEXTS.values())
"""Every text once, and each label's first text, which the crafted head gives its own label,
once more: every label the data holds has at least two examples."""


def accelerate(client: TestClient, team: TeamCredentials, model_id: str, **body: Any) -> Any:
    return client.put(f"/v1/models/{model_id}/acceleration", headers=team.headers, json=body)


def measured(
    client: TestClient, team: TeamCredentials, settings: Settings, model_id: str, **body: Any
) -> dict[str, Any]:
    """The accelerate job, queued (202, pointing at the job), run by a worker, as it ended."""
    queued = accelerate(client, team, model_id, **body)
    assert queued.status_code == 202, queued.text
    job = queued.json()
    assert (job["kind"], job["model_id"]) == ("accelerate", model_id)
    assert queued.headers["Location"] == f"/v1/jobs/{job['id']}"
    run_queued_jobs(settings)
    ended: dict[str, Any] = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
    return ended


def cache_of(client: TestClient) -> ModelCache:
    cache: ModelCache = client.app.state.serving.model_cache  # type: ignore[attr-defined]
    return cache


def test_int8_is_measured_on_the_validation_data_then_served_until_turned_off(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    validation = client.get(f"/v1/models/{model['id']}/evaluation", headers=team.headers).json()

    job = measured(client, team, settings, model["id"], method="int8", max_accuracy_drop=1.0)

    assert job["status"] == "succeeded", job
    assert job["request"] == {"method": "int8", "max_accuracy_drop": 1.0}
    assert job["progress"]["fraction"] == 1.0
    report = job["result"]
    assert report["method"] == "int8"
    assert report["dataset_id"] is None
    assert report["num_examples"] == validation["report"]["num_examples"]
    assert report["reference"]["accuracy"] == validation["report"]["accuracy"]
    assert report["accuracy_change"] == (
        report["accelerated"]["accuracy"] - report["reference"]["accuracy"]
    )
    assert 0 <= report["agreement"] <= 1
    shown = client.get(f"/v1/models/{model['id']}", headers=team.headers).json()
    assert shown["acceleration"] == report

    predicted = client.post(
        f"/v1/models/{model['id']}/predict", headers=team.headers, json={"inputs": ["hi"]}
    )
    assert predicted.status_code == 200
    assert cache_of(client).peek(model["id"], Backend.int8) is not None

    stopped = client.delete(f"/v1/models/{model['id']}/acceleration", headers=team.headers)
    assert stopped.status_code == 204
    shown = client.get(f"/v1/models/{model['id']}", headers=team.headers).json()
    assert shown["acceleration"] is None
    assert model["id"] not in cache_of(client)
    client.post(f"/v1/models/{model['id']}/predict", headers=team.headers, json={"inputs": ["hi"]})
    assert model["id"] in cache_of(client)
    assert cache_of(client).peek(model["id"], Backend.int8) is None


def with_a_head_int8_cannot_hold(directory: Path) -> None:
    """A classifier that gives each label's first text its own label in float (a row per
    label: that text's pooled features past the first one, normalised, so no other row
    matches it better) and the same large weight on the first feature in every row (it moves
    every logit alike). int8, with one scale per row, rounds every small weight to zero: the
    rows become equal and the int8 model gives every text the first label."""
    model = AutoModelForSequenceClassification.from_pretrained(directory).eval()
    tokenizer = AutoTokenizer.from_pretrained(directory)
    labels = [model.config.id2label[index] for index in range(model.config.num_labels)]
    encoded = tokenizer([FIRST_TEXTS[label] for label in labels], padding=True, return_tensors="pt")
    with torch.no_grad():
        pooled = pooled_features(model, encoded, model.config.adaptd_pooling)
    weights = directory / "model.safetensors"
    state = load_file(weights)
    prototypes = torch.nn.functional.normalize(pooled[:, 1:], dim=-1)
    shared_weight = torch.full((len(labels), 1), 400.0)
    state["classifier.weight"] = torch.cat([shared_weight, prototypes], dim=1)
    state["classifier.bias"] = torch.zeros(len(labels))
    save_file(state, weights)


def test_a_drop_beyond_the_allowed_one_is_refused_and_changes_nothing(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    job = create_job(
        client,
        team,
        create_dataset(client, team),
    ).json()
    run_queued_jobs(settings)
    model_id = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()["model_id"]
    with_a_head_int8_cannot_hold(settings.artifact_root / model_id)
    served = client.post(
        f"/v1/models/{model_id}/predict", headers=team.headers, json={"inputs": PROBE_TEXTS}
    ).json()["predictions"]
    examples = [
        {"text": text, "label": prediction["label"]}
        for text, prediction in zip(PROBE_TEXTS, served, strict=True)
    ]
    dataset = client.post("/v1/datasets", headers=team.headers, json={"examples": examples})
    assert dataset.status_code == 201, dataset.text

    refused = measured(client, team, settings, model_id, dataset_id=dataset.json()["id"])

    assert refused["status"] == "failed", refused
    assert refused["error"]["code"] == "accuracy_drop_too_large"
    assert "1.0000 →" in refused["error"]["message"]
    assert "served as it was" in refused["error"]["message"]
    shown = client.get(f"/v1/models/{model_id}", headers=team.headers).json()
    assert shown["acceleration"] is None
    assert cache_of(client).peek(model_id, Backend.int8) is None


def test_measuring_on_a_dataset_that_does_not_fit_the_model_is_refused(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    other = client.post(
        "/v1/datasets",
        headers=team.headers,
        json={
            "examples": [
                {"text": "where is my parcel", "label": "shipping"},
                {"text": "the parcel is lost", "label": "shipping"},
                {"text": "good morning", "label": "greeting"},
                {"text": "hello there", "label": "greeting"},
            ]
        },
    ).json()

    for dataset_id, message in [
        (other["id"], "not labels of the model"),
        ("ds_missing", "not found"),
    ]:
        refused = accelerate(client, team, model["id"], dataset_id=dataset_id)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["location"] == "dataset_id"
        assert message in refused.json()["detail"]


def test_onnx_float32_serves_the_same_answers_as_the_model_as_trained(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    as_trained = predict(client, team, model["id"])

    job = measured(client, team, settings, model["id"], method="onnx", max_accuracy_drop=0.0)

    assert job["status"] == "succeeded", job
    assert job["result"]["agreement"] == 1.0
    assert job["result"]["accuracy_change"] == 0.0
    served = predict(client, team, model["id"])
    assert cache_of(client).peek(model["id"], Backend.onnx) is not None
    assert [p["label"] for p in served] == [p["label"] for p in as_trained]
    for graph, torch_answer in zip(served, as_trained, strict=True):
        assert graph["score"] == pytest.approx(torch_answer["score"], abs=1e-5)


def predict(client: TestClient, team: TeamCredentials, model_id: str) -> list[dict[str, Any]]:
    answer = client.post(
        f"/v1/models/{model_id}/predict", headers=team.headers, json={"inputs": PROBE_TEXTS}
    )
    assert answer.status_code == 200, answer.text
    predictions: list[dict[str, Any]] = answer.json()["predictions"]
    return predictions


@pytest.mark.parametrize(
    ("method", "message"),
    [("fp16", "runs on a GPU"), ("tensorrt", "Input should be")],
)
def test_a_method_this_server_cannot_run_is_refused(
    client: TestClient,
    team: TeamCredentials,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    message: str,
) -> None:
    monkeypatch.setattr(runtime, "_providers", lambda: ["CPUExecutionProvider"])
    model = trained_model(client, team, settings)

    refused = accelerate(client, team, model["id"], method=method)

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["location"].endswith("method")
    assert message in refused.text
    assert (
        client.get(f"/v1/models/{model['id']}", headers=team.headers).json()["acceleration"] is None
    )
