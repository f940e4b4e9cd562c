from pathlib import Path
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from peft import get_peft_model_state_dict
from safetensors.torch import load_file

from app.core.config import Settings
from app.ml.warm_start import WarmStart
from tests.factories import INTENTS, TeamCredentials, create_job, example_rows, run_queued_jobs

WITH_SHIPPING = {
    **INTENTS,
    "shipping": ["where is my parcel", "track my order", "delivery is late", "package lost"],
}


def upload(client: TestClient, team: TeamCredentials, intents: dict[str, list[str]]) -> str:
    response = client.post(
        "/v1/datasets",
        headers=team.headers,
        json={"name": "intents", "examples": example_rows(intents)},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def train(
    client: TestClient, team: TeamCredentials, settings: Settings, dataset_id: str, **extra: Any
) -> dict[str, Any]:
    response = create_job(client, team, dataset_id, **extra)
    assert response.status_code == 202, response.text
    run_queued_jobs(settings)
    job: dict[str, Any] = client.get(
        f"/v1/jobs/{response.json()['id']}", headers=team.headers
    ).json()
    assert job["status"] == "succeeded", job
    return job


@pytest.mark.parametrize("strategy", ["full", "lora"])
def test_continue_training_with_a_new_label_keeps_the_old_head_rows_first(
    client: TestClient, team: TeamCredentials, settings: Settings, strategy: str
) -> None:
    first = train(client, team, settings, upload(client, team, INTENTS), strategy=strategy)
    earlier = client.get(f"/v1/models/{first['model_id']}", headers=team.headers).json()

    second = train(
        client,
        team,
        settings,
        upload(client, team, WITH_SHIPPING),
        strategy=strategy,
        init_from_model=first["model_id"],
    )
    model = client.get(f"/v1/models/{second['model_id']}", headers=team.headers).json()
    prediction = client.post(
        f"/v1/models/{model['id']}/predict",
        headers=team.headers,
        json={"inputs": ["track my order"]},
    )

    assert second["init_from_model_id"] == first["model_id"]
    assert model["labels"] == [*earlier["labels"], "shipping"]
    assert prediction.status_code == 200
    assert {s["label"] for s in prediction.json()["predictions"][0]["scores"]} == set(
        model["labels"]
    )


def test_warm_start_copies_the_earlier_weights_and_head_rows(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    first = train(client, team, settings, upload(client, team, INTENTS))
    directory = Path(settings.artifact_root) / first["model_id"]
    earlier_labels = client.get(f"/v1/models/{first['model_id']}", headers=team.headers).json()[
        "labels"
    ]
    warm = WarmStart(directory, earlier_labels)
    labels = warm.labels_for([*earlier_labels, "shipping"])

    model = warm.full_model(labels, multi_label=False)

    earlier = load_file(directory / "model.safetensors")
    state = model.state_dict()
    assert labels == [*earlier_labels, "shipping"]
    assert state["classifier.weight"].shape[0] == 4
    assert torch.equal(state["classifier.weight"][:3], earlier["classifier.weight"])
    assert torch.equal(state["classifier.bias"][:3], earlier["classifier.bias"])
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(state[name], earlier[name])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strategy": "lora"}, "is a 'full' model"),
        ({"strategy": "frozen"}, "only `full` and `lora` models continue"),
        ({"base_model": "all-MiniLM-L6-v2"}, "was trained from 'tiny-bert'"),
        ({"init_from_model": "mdl_unknown"}, "model mdl_unknown not found"),
        ({"dataset": {"greeting": INTENTS["greeting"], "billing": INTENTS["billing"]}}, "lacks"),
    ],
)
def test_continue_training_refuses_what_cannot_continue(
    client: TestClient,
    team: TeamCredentials,
    settings: Settings,
    change: dict[str, Any],
    message: str,
) -> None:
    change = dict(change)
    first = train(client, team, settings, upload(client, team, INTENTS))
    dataset_id = upload(client, team, change.pop("dataset", WITH_SHIPPING))

    response = create_job(
        client, team, dataset_id, **{"init_from_model": first["model_id"], **change}
    )

    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["location"] == "init_from_model"
    assert message in error["message"]


def test_continue_training_from_another_teams_model_is_refused(
    client: TestClient, team: TeamCredentials, other_team: TeamCredentials, settings: Settings
) -> None:
    first = train(client, team, settings, upload(client, team, INTENTS))

    response = create_job(
        client, other_team, upload(client, other_team, INTENTS), init_from_model=first["model_id"]
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == f"model {first['model_id']} not found"


def test_lora_warm_start_loads_the_earlier_adapters_and_head_rows(
    client: TestClient, team: TeamCredentials, settings: Settings, tiny_model_path: str
) -> None:
    first = train(client, team, settings, upload(client, team, INTENTS), strategy="lora")
    directory = Path(settings.artifact_root) / first["model_id"]
    earlier_labels = client.get(f"/v1/models/{first['model_id']}", headers=team.headers).json()[
        "labels"
    ]
    warm = WarmStart(directory, earlier_labels)

    model = warm.lora_model(tiny_model_path, warm.labels_for(["shipping"]), multi_label=False)

    earlier = load_file(directory / "adapter_model.safetensors")
    state = get_peft_model_state_dict(model)
    adapter = next(name for name in earlier if "lora_B" in name)
    assert torch.equal(state[adapter], earlier[adapter])
    assert torch.count_nonzero(earlier[adapter]) > 0, "trained adapters are not all zero"
    head = "base_model.model.classifier.weight"
    assert state[head].shape[0] == 4
    assert torch.equal(state[head][:3], earlier[head])
