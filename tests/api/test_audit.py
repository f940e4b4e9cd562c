from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import Settings
from tests.api.test_quotas import ADMIN
from tests.api.test_triggers import create_trigger, fire
from tests.factories import (
    PRODUCT_SCOPES,
    TeamCredentials,
    create_dataset,
    make_team,
    trained_model,
)


def entries(client: TestClient, admin: TeamCredentials, **filters: str) -> list[dict[str, Any]]:
    response = client.get("/v1/audit", headers=admin.headers, params=filters)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def own_key_id(client: TestClient, credentials: TeamCredentials, admin: TeamCredentials) -> str:
    prefix = credentials.key[:10]
    keys = client.get("/v1/keys", headers=admin.headers).json()["data"]
    return next(k["id"] for k in keys if k["prefix"] == prefix)


def test_every_write_that_took_effect_is_logged_with_its_key_action_and_resource(
    client: TestClient, session: Session, settings: Settings
) -> None:
    admin = make_team(session, "initech")
    model = trained_model(client, admin, settings)
    alias = client.put(
        "/v1/aliases/prod", headers=admin.headers, json={"model_id": model["id"]}
    ).json()
    subscribe = {"url": "https://93.184.215.14/hook", "events": ["job.succeeded"]}
    once = {**admin.headers, "Idempotency-Key": "hook-1"}
    webhook = client.post("/v1/webhooks", headers=once, json=subscribe).json()
    repeat = client.post("/v1/webhooks", headers=once, json=subscribe)
    assert repeat.headers["Idempotent-Replayed"] == "true"
    refused = client.post("/v1/jobs", headers=admin.headers, json={"dataset_id": "ds_missing"})
    assert refused.status_code == 422
    predicted = client.post(
        f"/v1/models/{model['id']}/predict", headers=admin.headers, json={"inputs": ["hi"]}
    )
    assert predicted.status_code == 200

    logged = entries(client, admin)
    key_id = own_key_id(client, admin, admin)
    job = client.get(f"/v1/jobs/{model['job_id']}", headers=admin.headers).json()
    assert [(e["action"], e["resource"]) for e in logged] == [
        ("create_webhook", webhook["id"]),
        ("put_alias", alias["name"]),
        ("create_job", model["job_id"]),
        ("create_dataset", job["dataset_id"]),
    ]
    assert {e["actor"] for e in logged} == {key_id}
    assert logged[0]["method"] == "POST"
    assert logged[0]["path"] == "/v1/webhooks"
    assert logged[0]["status_code"] == 201
    assert [e["action"] for e in entries(client, admin, action="put_alias")] == ["put_alias"]
    page = client.get("/v1/audit", headers=admin.headers, params={"limit": 2}).json()
    assert page["has_more"] is True
    rest = entries(client, admin, after=page["data"][-1]["id"])
    assert [e["action"] for e in rest] == ["create_job", "create_dataset"]


def test_the_log_is_the_teams_own_and_needs_an_admin_key(
    client: TestClient, session: Session, team: TeamCredentials
) -> None:
    admin = make_team(session, "initech")
    create_dataset(client, team)
    create_dataset(client, admin)

    writer = make_team(session, "writers", scopes=PRODUCT_SCOPES)
    assert client.get("/v1/audit", headers=writer.headers).status_code == 403
    assert [e["action"] for e in entries(client, admin)] == ["create_dataset"]
    other = client.get(f"/v1/teams/{team.team_id}/audit", headers=ADMIN)
    assert [e["action"] for e in other.json()["data"]] == ["create_dataset"]
    assert client.get(f"/v1/teams/{team.team_id}/audit", headers=team.headers).status_code == 401


def test_the_operator_and_signed_trigger_calls_are_named_as_actors(
    client: TestClient, session: Session
) -> None:
    created = client.post("/v1/teams", headers=ADMIN, json={"name": "umbrella"}).json()
    key = client.post(
        f"/v1/teams/{created['id']}/keys",
        headers=ADMIN,
        json={"name": "ops", "scopes": ["read", "write", "admin"]},
    ).json()
    admin = TeamCredentials(created["id"], key["key"])
    changed = client.patch(f"/v1/teams/{created['id']}/quotas", headers=ADMIN, json={"webhooks": 3})
    assert changed.status_code == 200
    trigger = create_trigger(client, admin)
    assert fire(client, trigger, "msg-1").status_code == 202
    assert fire(client, trigger, "msg-1").headers["Idempotent-Replayed"] == "true"

    logged = entries(client, admin)
    assert [(e["actor"], e["action"]) for e in logged[:2]] == [
        (f"trigger:{trigger['id']}", "fire_trigger"),
        (own_key_id(client, admin, admin), "create_trigger"),
    ]
    assert [(e["actor"], e["action"], e["resource"]) for e in logged[-3:]] == [
        ("operator", "change_quotas", created["id"]),
        ("operator", "create_key", key["id"]),
        ("operator", "create_team", created["id"]),
    ]
