from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from tests.factories import TeamCredentials, trained_model


@pytest.fixture
def two_models(client: TestClient, team: TeamCredentials, settings: Settings) -> list[str]:
    return [trained_model(client, team, settings)["id"] for _ in range(2)]


def put_alias(
    client: TestClient, team: TeamCredentials, name: str, model_id: str, **extra: Any
) -> Any:
    return client.put(
        f"/v1/aliases/{name}", headers=team.headers, json={"model_id": model_id, **extra}
    )


def test_alias_moves_keep_history_and_roll_back_step_by_step(
    client: TestClient, team: TeamCredentials, two_models: list[str]
) -> None:
    first, second = two_models

    created = put_alias(client, team, "support-router", first, reason="first model")
    moved = put_alias(client, team, "support-router", second, reason="better macro-F1")
    unchanged = put_alias(client, team, "support-router", second)
    rolled_back = client.post("/v1/aliases/support-router/rollback", headers=team.headers)
    nothing_left = client.post("/v1/aliases/support-router/rollback", headers=team.headers)

    assert created.status_code == 201, created.text
    assert moved.status_code == 200
    assert len(unchanged.json()["history"]) == 2
    assert rolled_back.status_code == 200, rolled_back.text
    alias = rolled_back.json()
    assert alias["model_id"] == first
    history = alias["history"]
    assert [(m["from_model_id"], m["to_model_id"]) for m in history] == [
        (second, first),
        (first, second),
        (None, first),
    ]
    assert [m["is_rollback"] for m in history] == [True, False, False]
    assert history[1]["rolled_back"] is True
    assert history[1]["reason"] == "better macro-F1"
    assert history[0]["actor"].startswith("key:")
    assert nothing_left.status_code == 409


def test_predict_by_alias_names_the_model_it_used(
    client: TestClient, team: TeamCredentials, two_models: list[str]
) -> None:
    put_alias(client, team, "router", two_models[1])

    answer = client.post(
        "/v1/models/router/predict", headers=team.headers, json={"inputs": "hello"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["model_id"] == two_models[1]


def test_aliased_model_cannot_be_deleted_until_the_alias_goes(
    client: TestClient, team: TeamCredentials, two_models: list[str]
) -> None:
    put_alias(client, team, "router", two_models[0])

    blocked = client.delete(f"/v1/models/{two_models[0]}", headers=team.headers)
    client.delete("/v1/aliases/router", headers=team.headers)
    allowed = client.delete(f"/v1/models/{two_models[0]}", headers=team.headers)

    assert blocked.status_code == 409
    assert "router" in blocked.json()["detail"]
    assert allowed.status_code == 204
    assert client.get("/v1/aliases/router", headers=team.headers).status_code == 404


@pytest.mark.parametrize(
    ("name", "model_id", "status"),
    [
        ("mdl_sneaky", None, 422),
        ("has space", None, 404),
        ("-leading-dash", None, 422),
        ("fine.name_1", "mdl_missing", 422),
    ],
)
def test_put_alias_rejects_bad_names_and_unknown_models(
    client: TestClient,
    team: TeamCredentials,
    two_models: list[str],
    name: str,
    model_id: str | None,
    status: int,
) -> None:
    response = put_alias(client, team, name, model_id or two_models[0])

    assert response.status_code in {status, 422}, response.text
    assert response.status_code != 201


def test_aliases_are_team_scoped(
    client: TestClient,
    team: TeamCredentials,
    other_team: TeamCredentials,
    two_models: list[str],
) -> None:
    put_alias(client, team, "router", two_models[0])

    assert client.get("/v1/aliases/router", headers=other_team.headers).status_code == 404
    assert client.get("/v1/aliases", headers=other_team.headers).json()["data"] == []
    theirs = client.post(
        "/v1/models/router/predict", headers=other_team.headers, json={"inputs": "hi"}
    )
    assert theirs.status_code == 404
    hijack = put_alias(client, other_team, "router", two_models[0])
    assert hijack.status_code == 422
    rollback = client.post("/v1/aliases/router/rollback", headers=other_team.headers)
    assert rollback.status_code == 404
    assert client.delete("/v1/aliases/router", headers=other_team.headers).status_code == 404
    assert (
        client.get("/v1/aliases/router", headers=team.headers).json()["model_id"] == (two_models[0])
    )
