from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api.test_quotas import ADMIN, set_quotas
from tests.factories import PRODUCT_SCOPES, TeamCredentials, make_team


def test_a_teams_admin_key_manages_its_own_keys(client: TestClient, session: Session) -> None:
    admin = make_team(session, "initech")

    created = client.post(
        "/v1/keys", headers=admin.headers, json={"name": "ci", "scopes": ["read"]}
    )
    assert created.status_code == 201, created.text
    new = TeamCredentials(admin.team_id, created.json()["key"])
    assert client.get("/v1/jobs", headers=new.headers).status_code == 200
    listed = client.get("/v1/keys", headers=admin.headers).json()["data"]
    assert {k["name"] for k in listed} == {"test", "ci"}
    assert all("key" not in k for k in listed)

    revoked = client.delete(f"/v1/keys/{created.json()['id']}", headers=admin.headers)
    assert revoked.status_code == 204
    assert client.get("/v1/jobs", headers=new.headers).status_code == 401


def test_keys_need_the_admin_scope_and_stay_within_the_team(
    client: TestClient, session: Session, other_team: TeamCredentials
) -> None:
    admin = make_team(session, "initech")
    writer = make_team(session, "writers", scopes=PRODUCT_SCOPES)
    other_key = client.get(f"/v1/teams/{other_team.team_id}/keys", headers=ADMIN).json()
    own_id = client.get("/v1/keys", headers=admin.headers).json()["data"][0]["id"]

    assert client.get("/v1/keys", headers=writer.headers).status_code == 403
    assert client.post("/v1/keys", headers=writer.headers, json={}).status_code == 403
    foreign = client.delete(f"/v1/keys/{other_key['data'][0]['id']}", headers=admin.headers)
    assert foreign.status_code == 404
    assert client.delete(f"/v1/keys/{own_id}", headers=admin.headers).status_code == 409
    assert client.get("/v1/jobs", headers=other_team.headers).status_code == 200


def test_a_teams_own_keys_count_against_its_quota(client: TestClient, session: Session) -> None:
    admin = make_team(session, "initech")
    set_quotas(client, admin, api_keys=2)

    assert client.post("/v1/keys", headers=admin.headers, json={}).status_code == 201
    refused = client.post("/v1/keys", headers=admin.headers, json={})

    assert refused.status_code == 409
    assert refused.json()["quota"] == "api_keys"
