import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import ApiKey
from tests.conftest import ADMIN_TOKEN
from tests.factories import TeamCredentials, create_dataset, create_job, make_team, run_queued_jobs

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_request_without_key_is_401(client: TestClient) -> None:
    response = client.get("/v1/datasets")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "Authorization: Bearer" in response.json()["detail"]


def test_request_with_unknown_key_is_401(client: TestClient) -> None:
    response = client.get("/v1/datasets", headers={"Authorization": "Bearer adk_nope"})

    assert response.status_code == 401


def test_read_only_key_cannot_write(client: TestClient, session: Session) -> None:
    reader = make_team(session, "readers", scopes=("read",))

    listed = client.get("/v1/datasets", headers=reader.headers)
    created = client.post(
        "/v1/datasets", headers=reader.headers, json={"examples": [{"text": "a", "label": "b"}]}
    )

    assert listed.status_code == 200
    assert created.status_code == 403
    assert "'write' scope" in created.json()["detail"]


def test_admin_token_creates_team_and_key_stored_as_hash(
    client: TestClient, session: Session
) -> None:
    team = client.post("/v1/teams", headers=ADMIN, json={"name": "initech"})
    key = client.post(
        f"/v1/teams/{team.json()['id']}/keys", headers=ADMIN, json={"scopes": ["read"]}
    )
    secret = key.json()["key"]

    assert team.status_code == 201
    assert key.status_code == 201
    assert key.json()["scopes"] == ["read"]
    stored = session.scalars(select(ApiKey.hashed_key)).all()
    assert secret not in stored
    assert all(len(value) == 64 for value in stored)
    listed = client.get(f"/v1/teams/{team.json()['id']}/keys", headers=ADMIN).json()["data"]
    assert "key" not in listed[0]
    assert (
        client.get("/v1/datasets", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    )


def test_revoked_key_is_401(client: TestClient, team: TeamCredentials, session: Session) -> None:
    key_id = session.scalars(select(ApiKey.id).where(ApiKey.team_id == team.team_id)).one()

    revoked = client.delete(f"/v1/teams/{team.team_id}/keys/{key_id}", headers=ADMIN)

    assert revoked.status_code == 204
    assert client.get("/v1/datasets", headers=team.headers).status_code == 401


def test_team_routes_need_the_admin_token(client: TestClient, team: TeamCredentials) -> None:
    assert client.post("/v1/teams", json={"name": "x"}).status_code == 401
    assert client.post("/v1/teams", headers=team.headers, json={"name": "x"}).status_code == 401


def test_duplicate_team_name_is_409(client: TestClient) -> None:
    client.post("/v1/teams", headers=ADMIN, json={"name": "dup"})

    assert client.post("/v1/teams", headers=ADMIN, json={"name": "dup"}).status_code == 409


def test_team_routes_are_off_without_admin_token(client: TestClient, settings: Settings) -> None:
    client.app.state.settings = settings.model_copy(update={"admin_token": None})  # type: ignore[attr-defined]

    response = client.post("/v1/teams", headers=ADMIN, json={"name": "x"})

    assert response.status_code == 403
    assert "ADAPTD_ADMIN_TOKEN" in response.json()["detail"]


@pytest.fixture
def foreign_ids(
    client: TestClient, other_team: TeamCredentials, settings: Settings
) -> dict[str, str]:
    dataset_id = create_dataset(client, other_team)
    job_id = create_job(client, other_team, dataset_id).json()["id"]
    run_queued_jobs(settings)
    model_id = client.get(f"/v1/jobs/{job_id}", headers=other_team.headers).json()["model_id"]
    return {"dataset": dataset_id, "job": job_id, "model": model_id}


def test_other_teams_resources_are_404_on_every_route(
    client: TestClient,
    team: TeamCredentials,
    other_team: TeamCredentials,
    foreign_ids: dict[str, str],
) -> None:
    ids = foreign_ids
    calls = [
        ("GET", f"/v1/datasets/{ids['dataset']}", None),
        ("DELETE", f"/v1/datasets/{ids['dataset']}", None),
        ("GET", f"/v1/jobs/{ids['job']}", None),
        ("POST", f"/v1/jobs/{ids['job']}/cancel", None),
        ("GET", f"/v1/jobs/{ids['job']}/events", None),
        ("GET", f"/v1/jobs/{ids['job']}/events/stream", None),
        ("DELETE", f"/v1/jobs/{ids['job']}", None),
        ("GET", f"/v1/models/{ids['model']}", None),
        ("DELETE", f"/v1/models/{ids['model']}", None),
        ("POST", f"/v1/models/{ids['model']}/predict", {"inputs": ["hello"]}),
    ]
    for method, path, body in calls:
        response = client.request(method, path, headers=team.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)

    job_on_foreign_data = create_job(client, team, ids["dataset"])
    assert job_on_foreign_data.status_code == 422
    assert job_on_foreign_data.json()["errors"][0]["location"] == "dataset_id"
    for collection in ("datasets", "jobs", "models"):
        assert client.get(f"/v1/{collection}", headers=team.headers).json()["data"] == []
        owned = client.get(f"/v1/{collection}", headers=other_team.headers).json()["data"]
        assert len(owned) == 1
    for path in (f"/v1/datasets/{ids['dataset']}", f"/v1/models/{ids['model']}"):
        assert client.get(path, headers=other_team.headers).status_code == 200
