from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.services import teams
from tests.factories import (
    PRODUCT_SCOPES,
    TeamCredentials,
    create_dataset,
    create_job,
    run_queued_jobs,
    trained_model,
)
from tests.webhook_receiver import Receiver, parsed
from workers.webhooks import deliver_due

JOB_LIFE = ["job.queued", "job.running", "job.succeeded", "model.created"]


def subscribe(
    client: TestClient, team: TeamCredentials, receiver: Receiver, events: list[str]
) -> dict[str, Any]:
    response = client.post(
        "/v1/webhooks", headers=team.headers, json={"url": receiver.url, "events": events}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    receiver.secret = body["secret"]
    return body


def deliveries(client: TestClient, team: TeamCredentials, webhook_id: str) -> list[Any]:
    response = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=team.headers)
    assert response.status_code == 200, response.text
    data: list[Any] = response.json()["data"]
    return data


def drain(settings: Settings, rounds: int = 10) -> None:
    for _ in range(rounds):
        if deliver_due(settings) == 0:
            return


def test_every_event_of_a_jobs_life_arrives_signed_and_sequenced(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    subscribe(hook_client, team, receiver, [*JOB_LIFE, "job.failed", "job.cancelled"])

    job = create_job(hook_client, team, create_dataset(hook_client, team)).json()
    run_queued_jobs(hook_settings)
    drain(hook_settings)

    assert len(receiver.requests) == 4
    assert all(r.verified is not None for r in receiver.requests)
    events = receiver.events_by_sequence
    assert [e["type"] for e in events] == JOB_LIFE
    assert len({e["sequence"] for e in events}) == 4
    assert all(e["data"]["job_id"] == job["id"] for e in events)
    assert [e["data"].get("status") for e in events[:3]] == ["queued", "running", "succeeded"]
    model_id = hook_client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()["model_id"]
    assert events[2]["data"]["model_id"] == model_id
    assert events[3]["data"] == {"model_id": model_id, "job_id": job["id"], "strategy": "full"}
    for request in receiver.requests:
        assert request.headers["webhook-id"] == f"evt_{parsed(request)['sequence']}"
        assert abs(int(request.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60


def test_receiver_failing_twice_gets_the_event_exactly_once_more(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued"])
    receiver.answer_next(500)
    receiver.answer_next(500)

    create_job(hook_client, team, create_dataset(hook_client, team))
    drain(hook_settings)

    statuses = [parsed(r)["type"] for r in receiver.requests]
    assert statuses == ["job.queued"] * 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    [delivery] = deliveries(hook_client, team, webhook["id"])
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] == 200
    drain(hook_settings)
    assert len(receiver.requests) == 3


def test_retry_after_is_honoured_and_attempts_are_bounded(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued"])
    receiver.answer_next(503, **{"Retry-After": "120"})

    create_job(hook_client, team, create_dataset(hook_client, team))
    drain(hook_settings)

    [delivery] = deliveries(hook_client, team, webhook["id"])
    assert delivery["status"] == "pending"
    assert delivery["last_status_code"] == 503
    next_attempt = datetime.fromisoformat(delivery["next_attempt_at"])
    assert next_attempt > datetime.now(UTC) + timedelta(seconds=100)
    assert len(receiver.requests) == 1


def test_delivery_gives_up_after_max_attempts(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued"])
    for _ in range(10):
        receiver.answer_next(500)

    create_job(hook_client, team, create_dataset(hook_client, team))
    drain(hook_settings)

    [delivery] = deliveries(hook_client, team, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == hook_settings.webhook_max_attempts
    assert "gave up after 4 attempts" in delivery["last_error"]
    assert len(receiver.requests) == 4


def test_gone_disables_the_endpoint_and_redirects_are_not_followed(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued", "job.running"])
    receiver.answer_next(302, Location="http://127.0.0.1:9/elsewhere")
    receiver.answer_next(410)

    create_job(hook_client, team, create_dataset(hook_client, team))
    drain(hook_settings)
    run_queued_jobs(hook_settings)
    drain(hook_settings)

    assert len(receiver.requests) == 2
    endpoint = hook_client.get(f"/v1/webhooks/{webhook['id']}", headers=team.headers).json()
    assert endpoint["enabled"] is False
    assert "410" in endpoint["disabled_reason"]
    [delivery] = deliveries(hook_client, team, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 2


def test_redeliver_sends_the_same_event_again(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued"])
    create_job(hook_client, team, create_dataset(hook_client, team))
    drain(hook_settings)
    [first] = deliveries(hook_client, team, webhook["id"])

    response = hook_client.post(
        f"/v1/webhooks/{webhook['id']}/deliveries/{first['id']}/redeliver", headers=team.headers
    )
    drain(hook_settings)

    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    assert len(receiver.requests) == 2
    assert receiver.requests[0].body == receiver.requests[1].body
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    assert [d["status"] for d in deliveries(hook_client, team, webhook["id"])] == ["delivered"] * 2


def test_rotated_secret_signs_from_then_on(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued"])
    response = hook_client.post(f"/v1/webhooks/{webhook['id']}/rotate-secret", headers=team.headers)
    assert response.status_code == 200
    new_secret = response.json()["secret"]
    assert new_secret != webhook["secret"]
    assert new_secret.startswith("whsec_")

    create_job(hook_client, team, create_dataset(hook_client, team))
    drain(hook_settings)

    receiver.secret = webhook["secret"]
    assert receiver.handle(receiver.requests[0].headers, receiver.requests[0].body)
    assert receiver.requests[-1].verified is None
    receiver.secret = new_secret
    receiver.handle(receiver.requests[0].headers, receiver.requests[0].body)
    assert receiver.requests[-1].verified is not None


def test_alias_moves_are_announced(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    model = trained_model(hook_client, team, hook_settings)
    subscribe(hook_client, team, receiver, ["alias.updated"])

    hook_client.put("/v1/aliases/router", headers=team.headers, json={"model_id": model["id"]})
    drain(hook_settings)

    [event] = receiver.events
    assert event["type"] == "alias.updated"
    assert event["data"] == {
        "alias": "router",
        "model_id": model["id"],
        "previous_model_id": None,
        "rollback": False,
    }


def test_webhook_secret_is_shown_only_on_create_and_rotate(
    hook_client: TestClient, team: TeamCredentials, receiver: Receiver
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued"])

    listed = hook_client.get("/v1/webhooks", headers=team.headers).json()["data"]
    one = hook_client.get(f"/v1/webhooks/{webhook['id']}", headers=team.headers).json()

    assert [w["id"] for w in listed] == [webhook["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in one
    assert one["events"] == ["job.queued"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 resolves to 127.0.0.1"),
        ("http://localhost/hook", "localhost resolves to"),
        ("http://10.1.2.3/hook", "10.1.2.3 resolves to 10.1.2.3"),
        ("http://169.254.169.254/latest/meta-data", "resolves to 169.254.169.254"),
        ("http://[::ffff:127.0.0.1]/hook", "resolves to ::ffff:7f00:1"),
        ("ftp://example.com/hook", "must start with http:// or https://"),
        ("http://user:pw@example.com/hook", "must not carry credentials"),
    ],
)
def test_create_webhook_refuses_non_public_targets(
    client: TestClient, team: TeamCredentials, url: str, reason: str
) -> None:
    response = client.post(
        "/v1/webhooks", headers=team.headers, json={"url": url, "events": ["job.queued"]}
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["location"] == "url"
    assert reason in response.json()["detail"]


def test_create_webhook_rejects_unknown_events(client: TestClient, team: TeamCredentials) -> None:
    response = client.post(
        "/v1/webhooks",
        headers=team.headers,
        json={"url": "https://example.com/hook", "events": ["job.exploded"]},
    )

    assert response.status_code == 422


def test_webhooks_are_team_scoped(
    hook_client: TestClient,
    team: TeamCredentials,
    other_team: TeamCredentials,
    hook_settings: Settings,
    receiver: Receiver,
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued"])
    path = f"/v1/webhooks/{webhook['id']}"

    create_job(hook_client, other_team, create_dataset(hook_client, other_team))
    drain(hook_settings)

    assert receiver.requests == []
    assert hook_client.get(path, headers=other_team.headers).status_code == 404
    assert hook_client.delete(path, headers=other_team.headers).status_code == 404
    assert hook_client.post(f"{path}/rotate-secret", headers=other_team.headers).status_code == 404
    assert hook_client.get(f"{path}/deliveries", headers=other_team.headers).status_code == 404
    assert hook_client.get("/v1/webhooks", headers=other_team.headers).json()["data"] == []
    assert hook_client.delete(path, headers=team.headers).status_code == 204
    assert hook_client.get(path, headers=team.headers).status_code == 404


def test_changing_where_a_teams_events_go_needs_an_admin_key(
    hook_client: TestClient, session: Session, team: TeamCredentials, receiver: Receiver
) -> None:
    webhook = subscribe(hook_client, team, receiver, ["job.queued"])
    path = f"/v1/webhooks/{webhook['id']}"
    _, secret = teams.create_key(
        session, team_id=team.team_id, name="pipeline", scopes=list(PRODUCT_SCOPES)
    )
    session.commit()
    product = {"Authorization": f"Bearer {secret}"}
    body = {"url": receiver.url, "events": ["job.queued"]}

    refused = hook_client.post("/v1/webhooks", headers=product, json=body)

    assert refused.status_code == 403
    assert "'admin' scope" in refused.json()["detail"]
    changed = hook_client.patch(path, headers=product, json={"events": ["job.running"]})
    assert changed.status_code == 403
    assert hook_client.post(f"{path}/rotate-secret", headers=product).status_code == 403
    assert hook_client.delete(path, headers=product).status_code == 403
    assert hook_client.get(path, headers=product).json()["events"] == ["job.queued"]
    assert [w["id"] for w in hook_client.get("/v1/webhooks", headers=product).json()["data"]] == [
        webhook["id"]
    ]
