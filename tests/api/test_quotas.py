from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.api.test_triggers import create_trigger, fire
from tests.conftest import ADMIN_TOKEN
from tests.factories import TeamCredentials, create_dataset, create_job, trained_model

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def set_quotas(client: TestClient, team: TeamCredentials, **limits: int | None) -> Any:
    response = client.patch(f"/v1/teams/{team.team_id}/quotas", headers=ADMIN, json=limits)
    assert response.status_code == 200, response.text
    return response.json()


def test_admin_sets_a_teams_limits_and_the_team_reads_them(
    client: TestClient, team: TeamCredentials, other_team: TeamCredentials, settings: Settings
) -> None:
    changed = set_quotas(client, team, running_jobs=1, webhooks=3)

    assert changed["limits"]["running_jobs"] == 1
    assert changed["limits"]["webhooks"] == 3
    assert changed["limits"]["triggers"] == settings.quota_triggers
    assert changed["overrides"] == {"running_jobs": 1, "webhooks": 3}
    own = client.get("/v1/quotas", headers=team.headers).json()
    assert own["limits"] == changed["limits"]
    assert own["usage"] == {
        "active_jobs": 0,
        "running_jobs": 0,
        "webhooks": 0,
        "triggers": 0,
        "api_keys": 1,
    }
    other = client.get("/v1/quotas", headers=other_team.headers).json()
    assert other["limits"]["running_jobs"] == settings.quota_running_jobs

    reset = set_quotas(client, team, running_jobs=None)
    assert reset["overrides"] == {"webhooks": 3}
    assert reset["limits"]["running_jobs"] == settings.quota_running_jobs


def test_quota_changes_are_checked_and_need_the_admin_token(
    client: TestClient, team: TeamCredentials
) -> None:
    path = f"/v1/teams/{team.team_id}/quotas"
    assert client.patch(path, headers=team.headers, json={"webhooks": 2}).status_code == 401
    bad = client.patch(path, headers=ADMIN, json={"webhooks": 0, "gpus": 2})
    assert bad.status_code == 422
    assert {e["location"] for e in bad.json()["errors"]} == {"webhooks", "gpus"}
    assert client.patch("/v1/teams/team_nope/quotas", headers=ADMIN, json={}).status_code == 404


def test_a_team_at_its_active_jobs_limit_is_answered_429_and_others_are_not(
    client: TestClient, team: TeamCredentials, other_team: TeamCredentials
) -> None:
    set_quotas(client, team, active_jobs=2)
    dataset_id = create_dataset(client, team)
    assert create_job(client, team, dataset_id).status_code == 202
    assert create_job(client, team, dataset_id).status_code == 202

    refused = create_job(client, team, dataset_id)

    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["quota"] == "active_jobs"
    assert refused.json()["limit"] == 2
    assert create_job(client, other_team, create_dataset(client, other_team)).status_code == 202
    job_id = client.get("/v1/jobs", headers=team.headers).json()["data"][0]["id"]
    client.post(f"/v1/jobs/{job_id}/cancel", headers=team.headers)
    assert create_job(client, team, dataset_id).status_code == 202


def test_a_trigger_fire_past_the_active_jobs_limit_is_answered_429(
    client: TestClient, team: TeamCredentials
) -> None:
    trigger = create_trigger(client, team)
    set_quotas(client, team, active_jobs=1)
    create_job(client, team, create_dataset(client, team))

    refused = fire(client, trigger, "msg-1")

    assert refused.status_code == 429
    assert refused.json()["quota"] == "active_jobs"
    assert (
        client.get(f"/v1/triggers/{trigger['id']}/runs", headers=team.headers).json()["data"] == []
    )


def test_counted_things_stop_at_their_limits(
    hook_client: TestClient, team: TeamCredentials
) -> None:
    client = hook_client
    set_quotas(client, team, webhooks=1, triggers=1, api_keys=2)
    hook = {"url": "http://127.0.0.1:9/adaptd", "events": ["job.succeeded"]}
    assert client.post("/v1/webhooks", headers=team.headers, json=hook).status_code == 201
    create_trigger(client, team)
    key_path = f"/v1/teams/{team.team_id}/keys"
    second_key = client.post(key_path, headers=ADMIN, json={"name": "ci"})
    assert second_key.status_code == 201

    refusals = [
        client.post("/v1/webhooks", headers=team.headers, json=hook),
        client.post(
            "/v1/triggers",
            headers=team.headers,
            json={
                "name": "another",
                "dataset_id": create_dataset(client, team),
                "job": {"strategy": "frozen"},
                "alias": "other",
                "gate": {"metric": "accuracy", "eval_dataset_id": create_dataset(client, team)},
            },
        ),
        client.post(key_path, headers=ADMIN, json={"name": "third"}),
    ]

    for refused, quota, limit in zip(
        refusals, ("webhooks", "triggers", "api_keys"), (1, 1, 2), strict=True
    ):
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"] == "/problems/quota-exceeded"
        assert (refused.json()["quota"], refused.json()["limit"]) == (quota, limit)
    client.delete(f"{key_path}/{second_key.json()['id']}", headers=ADMIN)
    assert client.post(key_path, headers=ADMIN, json={"name": "third"}).status_code == 201


def test_a_key_over_its_requests_per_minute_is_answered_429_on_every_route(
    client: TestClient, team: TeamCredentials, other_team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    set_quotas(client, team, requests_per_minute=3)
    predict = f"/v1/models/{model['id']}/predict"

    answers = [client.get("/v1/jobs", headers=team.headers) for _ in range(3)]
    over_list = client.get("/v1/jobs", headers=team.headers)
    over_predict = client.post(predict, headers=team.headers, json={"inputs": ["hello"]})

    assert [a.status_code for a in answers] == [200, 200, 200]
    for over in (over_list, over_predict):
        assert over.status_code == 429
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        assert over.json()["quota"] == "requests_per_minute"
    assert client.get("/v1/jobs", headers=other_team.headers).status_code == 200


@pytest.fixture
def crowded_client(settings: Settings) -> Any:
    """Passes of one text at a time, so that concurrent requests wait in flight together."""
    crowded = settings.model_copy(update={"predict_batch_max_texts": 1})
    with TestClient(create_app(crowded)) as client:
        yield client


def test_one_teams_flood_is_answered_429_while_another_team_is_served(
    crowded_client: TestClient,
    team: TeamCredentials,
    other_team: TeamCredentials,
    settings: Settings,
) -> None:
    client = crowded_client
    flooding = trained_model(client, team, settings)
    served = trained_model(client, other_team, settings)
    set_quotas(client, team, predict_texts_in_flight=8)
    texts = [f"hello number {i}" for i in range(8)]

    def flood(_: int) -> Any:
        return client.post(
            f"/v1/models/{flooding['id']}/predict", headers=team.headers, json={"inputs": texts}
        )

    def other(_: int) -> Any:
        return client.post(
            f"/v1/models/{served['id']}/predict", headers=other_team.headers, json={"inputs": texts}
        )

    with ThreadPoolExecutor(24) as pool:
        floods = pool.map(flood, range(40))
        others = pool.map(other, range(8))
        flood_codes = [answer.status_code for answer in floods]
        other_codes = [answer.status_code for answer in others]

    assert set(flood_codes) == {200, 429}
    assert other_codes == [200] * 8
