import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from standardwebhooks import Webhook

from app.core.config import Settings
from app.core.db import new_session
from app.core.storage import open_store
from app.models import Trigger, TriggerRun, WebhookEvent
from app.services import retrains
from tests.factories import (
    TeamCredentials,
    create_dataset,
    create_job,
    example_rows,
    run_queued_jobs,
)
from tests.tiny_model import TINY_BASE_MODEL
from tests.webhook_receiver import Receiver
from workers.retrains import advance_due
from workers.webhooks import deliver_due

GOOD_JOB = {
    "strategy": "full",
    "base_model": TINY_BASE_MODEL,
    "hyperparameters": {
        "epochs": 30,
        "batch_size": 4,
        "learning_rate": 3e-3,
        "head_learning_rate_factor": 1,
        "early_stopping_patience": None,
    },
    "validation_split": 0.2,
}
NEW_EXAMPLES = [
    {"text": "howdy partner", "label": "greeting"},
    {"text": "farewell my friend", "label": "farewell"},
    {"text": "why was i charged twice", "label": "billing"},
]


def eval_dataset(client: TestClient, team: TeamCredentials) -> str:
    """The training texts again: the randomly initialised tiny model can only memorise, so a
    trained candidate clearly beats an untrained one and two trained ones tie."""
    response = client.post(
        "/v1/datasets", headers=team.headers, json={"name": "gate", "examples": example_rows()}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def create_trigger(
    client: TestClient, team: TeamCredentials, *, min_delta: float = 0.0, alias: str = "router"
) -> dict[str, Any]:
    response = client.post(
        "/v1/triggers",
        headers=team.headers,
        json={
            "name": f"nightly-{alias}",
            "dataset_id": create_dataset(client, team),
            "job": GOOD_JOB,
            "alias": alias,
            "gate": {
                "metric": "macro_f1",
                "min_delta": min_delta,
                "eval_dataset_id": eval_dataset(client, team),
            },
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def signed(
    secret: str, body: str, message_id: str, skew: timedelta = timedelta(0)
) -> dict[str, str]:
    at = datetime.now(UTC) + skew
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def fire(
    client: TestClient,
    trigger: dict[str, Any],
    message_id: str,
    examples: list[dict[str, str]] | None = None,
    **signing: Any,
) -> Any:
    body = json.dumps({"examples": examples or []})
    headers = signed(signing.pop("secret", trigger["secret"]), body, message_id, **signing)
    return client.post(f"/v1/triggers/{trigger['id']}/fire", content=body, headers=headers)


def settle(settings: Settings) -> None:
    """Train what is queued, then let the gate decide; twice, for a follow-up retrain."""
    for _ in range(2):
        run_queued_jobs(settings)
        advance_due(settings)


def runs(client: TestClient, team: TeamCredentials, trigger_id: str) -> list[Any]:
    response = client.get(f"/v1/triggers/{trigger_id}/runs", headers=team.headers)
    assert response.status_code == 200, response.text
    data: list[Any] = response.json()["data"]
    return data


def alias_of(client: TestClient, team: TeamCredentials, name: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/v1/aliases/{name}", headers=team.headers).json()
    return body


def test_retrain_loop_promotes_a_better_model_and_rejects_one_that_is_not(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings, receiver: Receiver
) -> None:
    weak = create_job(
        hook_client,
        team,
        create_dataset(hook_client, team),
        hyperparameters={"epochs": 1, "batch_size": 4, "learning_rate": 1e-7},
    ).json()
    run_queued_jobs(hook_settings)
    weak_model = hook_client.get(f"/v1/jobs/{weak['id']}", headers=team.headers).json()["model_id"]
    hook_client.put("/v1/aliases/router", headers=team.headers, json={"model_id": weak_model})
    response = hook_client.post(
        "/v1/webhooks",
        headers=team.headers,
        json={"url": receiver.url, "events": ["retrain.promoted", "retrain.rejected"]},
    )
    receiver.secret = response.json()["secret"]
    trigger = create_trigger(hook_client, team, min_delta=0.05)

    first = fire(hook_client, trigger, "msg-1", NEW_EXAMPLES)
    settle(hook_settings)
    promoted_to = alias_of(hook_client, team, "router")["model_id"]
    second = fire(hook_client, trigger, "msg-2")
    settle(hook_settings)
    deliver_due(hook_settings)

    assert first.status_code == 202, first.text
    assert first.json()["coalesced"] is False
    version = hook_client.get(
        f"/v1/datasets/{first.json()['dataset_id']}", headers=team.headers
    ).json()
    assert version["parent_id"] == trigger["dataset_id"]
    assert version["num_examples"] == len(example_rows()) + len(NEW_EXAMPLES)
    assert second.status_code == 202, second.text
    rejected, promoted = runs(hook_client, team, trigger["id"])
    assert promoted["status"] == "promoted", (promoted["reason"], promoted)
    assert promoted["current_model_id"] == weak_model
    assert promoted["candidate_score"] >= promoted["current_score"] + 0.05
    assert promoted_to == promoted["candidate_model_id"]
    assert rejected["status"] == "rejected", rejected
    assert rejected["current_model_id"] == promoted["candidate_model_id"]
    assert rejected["candidate_score"] < rejected["current_score"] + 0.05
    assert "needed +0.0500" in rejected["reason"]
    alias = alias_of(hook_client, team, "router")
    assert alias["model_id"] == promoted["candidate_model_id"]
    assert alias["history"][0]["actor"] == f"trigger:{trigger['id']}"
    events = receiver.events_by_sequence
    assert [e["type"] for e in events] == ["retrain.promoted", "retrain.rejected"]
    assert events[0]["data"]["run_id"] == promoted["id"]
    assert events[1]["data"]["candidate_score"] == rejected["candidate_score"]


def test_first_model_for_an_empty_alias_is_promoted(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings
) -> None:
    trigger = create_trigger(hook_client, team, min_delta=0.5, alias="fresh")

    fire(hook_client, trigger, "msg-1")
    settle(hook_settings)

    [run] = runs(hook_client, team, trigger["id"])
    assert run["status"] == "promoted"
    assert run["reason"] == "first model for alias 'fresh'"
    assert alias_of(hook_client, team, "fresh")["model_id"] == run["candidate_model_id"]


@pytest.mark.parametrize(
    ("case", "signing"),
    [
        ("stale", {"skew": timedelta(minutes=-6)}),
        ("future", {"skew": timedelta(minutes=6)}),
        ("wrong secret", {"secret": "whsec_" + "A" * 43 + "="}),
    ],
)
def test_fire_with_a_bad_signature_is_401_and_starts_nothing(
    client: TestClient, team: TeamCredentials, case: str, signing: dict[str, Any]
) -> None:
    trigger = create_trigger(client, team)

    response = fire(client, trigger, "msg-1", NEW_EXAMPLES, **signing)

    assert response.status_code == 401, (case, response.text)
    assert runs(client, team, trigger["id"]) == []
    assert client.get("/v1/jobs", headers=team.headers).json()["data"] == []
    datasets = client.get("/v1/datasets", headers=team.headers).json()["data"]
    assert all(d["parent_id"] is None for d in datasets)


def test_fire_without_signature_headers_is_401(client: TestClient, team: TeamCredentials) -> None:
    trigger = create_trigger(client, team)

    response = client.post(f"/v1/triggers/{trigger['id']}/fire", json={"examples": []})

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_replayed_fire_gets_the_first_answer_and_starts_nothing(
    client: TestClient, team: TeamCredentials
) -> None:
    trigger = create_trigger(client, team)

    first = fire(client, trigger, "msg-1", NEW_EXAMPLES)
    again = fire(client, trigger, "msg-1", NEW_EXAMPLES)

    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(client.get("/v1/jobs", headers=team.headers).json()["data"]) == 1
    assert len(client.get("/v1/datasets", headers=team.headers).json()["data"]) == 3


def test_firing_during_a_retrain_coalesces_and_one_more_follows_for_new_data(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    trigger = create_trigger(client, team)

    first = fire(client, trigger, "msg-1").json()
    joined = fire(client, trigger, "msg-2", NEW_EXAMPLES).json()
    empty = fire(client, trigger, "msg-3").json()
    settle(settings)

    assert joined["coalesced"] is True
    assert empty["coalesced"] is True
    assert joined["run"]["id"] == empty["run"]["id"] == first["run"]["id"]
    follow_up, original = runs(client, team, trigger["id"])
    assert original["id"] == first["run"]["id"]
    assert original["dataset_id"] == trigger["dataset_id"]
    assert follow_up["dataset_id"] == joined["dataset_id"] != trigger["dataset_id"]
    assert {original["status"], follow_up["status"]} <= {"promoted", "rejected"}
    assert len(client.get("/v1/jobs", headers=team.headers).json()["data"]) == 2


def test_fire_with_invalid_examples_is_422_naming_them_and_keeps_nothing(
    client: TestClient, team: TeamCredentials
) -> None:
    trigger = create_trigger(client, team)
    bad = [{"text": "fine", "label": "greeting"}, {"text": "   ", "label": "billing"}]

    response = fire(client, trigger, "msg-1", bad)
    retried = fire(client, trigger, "msg-1", NEW_EXAMPLES)

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["location"] == "examples[1]"
    assert retried.status_code == 202
    assert retried.headers.get("Idempotent-Replayed") is None


def test_triggers_are_team_scoped(
    client: TestClient, team: TeamCredentials, other_team: TeamCredentials
) -> None:
    trigger = create_trigger(client, team)
    path = f"/v1/triggers/{trigger['id']}"

    assert client.get(path, headers=other_team.headers).status_code == 404
    assert client.get(f"{path}/runs", headers=other_team.headers).status_code == 404
    assert client.delete(path, headers=other_team.headers).status_code == 404
    assert client.get("/v1/triggers", headers=other_team.headers).json()["data"] == []
    foreign = client.post(
        "/v1/triggers",
        headers=other_team.headers,
        json={
            "name": "steal",
            "dataset_id": trigger["dataset_id"],
            "alias": "x",
            "gate": {"eval_dataset_id": trigger["gate"]["eval_dataset_id"]},
        },
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["location"] == "dataset_id"
    public = client.get(path, headers=team.headers).json()
    assert "secret" not in public
    assert public["url"].endswith(f"/v1/triggers/{trigger['id']}/fire")


def test_create_trigger_checks_the_jobs_hyperparameters_at_once(
    client: TestClient, team: TeamCredentials
) -> None:
    dataset_id = create_dataset(client, team)

    response = client.post(
        "/v1/triggers",
        headers=team.headers,
        json={
            "name": "bad",
            "dataset_id": dataset_id,
            "job": {"strategy": "lora", "hyperparameters": {"r": 0}},
            "alias": "router",
            "gate": {"eval_dataset_id": dataset_id},
        },
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["location"] == "hyperparameters.r"


def test_dataset_a_trigger_uses_cannot_be_deleted(
    client: TestClient, team: TeamCredentials
) -> None:
    trigger = create_trigger(client, team)

    for dataset_id in (trigger["dataset_id"], trigger["gate"]["eval_dataset_id"]):
        response = client.delete(f"/v1/datasets/{dataset_id}", headers=team.headers)
        assert response.status_code == 409, response.text
        assert "['nightly-router']" in response.json()["detail"]
    client.delete(f"/v1/triggers/{trigger['id']}", headers=team.headers)
    response = client.delete(f"/v1/datasets/{trigger['dataset_id']}", headers=team.headers)
    assert response.status_code == 204


def test_a_retrain_taken_over_by_a_second_decider_is_decided_once(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings
) -> None:
    """A decider that ran past its claim (the run was re-claimed as abandoned) writes nothing:
    the alias moves once, one follow-up run starts, one event is announced."""
    trigger = create_trigger(hook_client, team)
    fire(hook_client, trigger, "msg-1", NEW_EXAMPLES)
    run_queued_jobs(hook_settings)
    store = open_store(hook_settings)
    with new_session(hook_settings) as session:
        [first] = retrains.claim_finished(session)
        fire(hook_client, trigger, "msg-2", NEW_EXAMPLES[:1])  # joins the run: one rerun asked
        long_ago = first.claimed_at - retrains.STALE_EVALUATION - timedelta(seconds=1)
        session.execute(
            update(TriggerRun).where(TriggerRun.id == first.run_id).values(claimed_at=long_ago)
        )
        session.commit()
        slow = retrains.RunClaim(first.run_id, long_ago)
        [second] = retrains.claim_finished(session)
    with new_session(hook_settings) as session:
        decided_by_second = retrains.decide(
            session, claim=second, settings=hook_settings, store=store
        )
    with new_session(hook_settings) as session:
        decided_by_slow = retrains.decide(session, claim=slow, settings=hook_settings, store=store)
        events = session.scalars(
            select(WebhookEvent.type).where(WebhookEvent.type.like("retrain.%"))
        ).all()

    assert (decided_by_second, decided_by_slow) == (True, False)
    assert second.run_id == first.run_id
    decided, follow_up = sorted(runs(hook_client, team, trigger["id"]), key=lambda r: r["status"])
    assert (decided["status"], follow_up["status"]) == ("promoted", "training")
    assert len(alias_of(hook_client, team, "router")["history"]) == 1
    assert events == ["retrain.promoted"]


def test_a_rotated_secret_signs_at_once_and_the_old_one_only_during_the_grace(
    hook_client: TestClient, team: TeamCredentials, hook_settings: Settings
) -> None:
    trigger = create_trigger(hook_client, team)
    old = trigger["secret"]

    rotated = hook_client.post(f"/v1/triggers/{trigger['id']}/secret", headers=team.headers)
    new = rotated.json()["secret"]
    by_new = fire(hook_client, trigger, "msg-new", secret=new)
    by_old = fire(hook_client, trigger, "msg-old", secret=old)
    with new_session(hook_settings) as session:
        session.execute(
            update(Trigger)
            .where(Trigger.id == trigger["id"])
            .values(previous_secret_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    after_grace = fire(hook_client, trigger, "msg-late", secret=old)
    shown = hook_client.get(f"/v1/triggers/{trigger['id']}", headers=team.headers).json()

    assert rotated.status_code == 200, rotated.text
    assert new != old
    assert (by_new.status_code, by_old.status_code) == (202, 202)
    assert after_grace.status_code == 401
    assert "secret" not in shown
