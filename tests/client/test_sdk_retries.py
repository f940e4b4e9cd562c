"""Retries with backoff, and idempotency: an answer lost after the service did the work is
asked for again with the same key, and the service does the work once."""

import threading

import pytest
from fastapi.testclient import TestClient

from adaptd.client import (
    Client,
    ConnectionFailed,
    Dataset,
    JobUpdate,
    Overloaded,
    Retries,
    Trigger,
)
from adaptd.client import transport as client_transport
from app.core.config import Settings
from tests.client.conftest import sdk_over
from tests.client.faults import (
    BreaksFirstStream,
    LosesFirstAnswer,
    OverloadedFirst,
    Unreachable,
    posts_to,
)
from tests.factories import TeamCredentials, example_rows, run_queued_jobs
from tests.tiny_model import TINY_BASE_MODEL

TINY_JOB = {"epochs": 2, "batch_size": 4, "learning_rate": 1e-3}
IDEMPOTENCY = "Idempotency-Key"


def test_job_creation_whose_answer_is_lost_creates_one_job(
    app_client: TestClient, credentials: TeamCredentials
) -> None:
    lossy = LosesFirstAnswer(app_client, posts_to("/v1/jobs"))
    sdk = sdk_over(lossy, credentials)
    dataset = sdk.datasets.upload(example_rows())

    job = sdk.jobs.create(dataset, base_model=TINY_BASE_MODEL, hyperparameters=TINY_JOB)

    posted = [r for r in lossy.seen if posts_to("/v1/jobs")(r)]
    assert len(lossy.dropped) == 1
    assert len(posted) == 2
    assert posted[0].headers[IDEMPOTENCY] == posted[1].headers[IDEMPOTENCY]
    assert [j.id for j in sdk.jobs.list()] == [job.id]


def test_upload_whose_answer_is_lost_stores_one_dataset(
    app_client: TestClient, credentials: TeamCredentials, tmp_path: pytest.TempPathFactory
) -> None:
    sdk = sdk_over(LosesFirstAnswer(app_client, posts_to("/v1/datasets")), credentials)

    dataset = sdk.datasets.upload(example_rows(), name="once")

    assert [d.id for d in sdk.datasets.list()] == [dataset.id]


def test_rollback_and_webhook_whose_answers_are_lost_happen_once(
    app_client: TestClient, credentials: TeamCredentials, sqlite_settings: Settings
) -> None:
    plain = sdk_over(LosesFirstAnswer(app_client, lambda _request: False), credentials)
    dataset = plain.datasets.upload(example_rows())
    jobs = [
        plain.jobs.create(dataset, base_model=TINY_BASE_MODEL, hyperparameters=TINY_JOB)
        for _ in range(3)
    ]
    run_queued_jobs(sqlite_settings)
    models = [plain.jobs.get(job).model_id or "" for job in jobs]
    for model in models:
        plain.aliases.set("router", model)
    rollback = sdk_over(
        LosesFirstAnswer(app_client, posts_to("/v1/aliases/router/rollback")), credentials
    )
    subscribe = sdk_over(LosesFirstAnswer(app_client, posts_to("/v1/webhooks")), credentials)

    rolled = rollback.aliases.rollback("router")
    webhook = subscribe.webhooks.create("https://93.184.215.14/adaptd", ["job.succeeded"])

    assert rolled.model_id == models[1], "one step back, not two"
    assert sum(move.is_rollback for move in plain.aliases.history("router")) == 1
    assert webhook.secret
    assert [w.id for w in plain.webhooks.list()] == [webhook.id]


def tiny_trigger(sdk: Client, name: str, dataset: Dataset) -> Trigger:
    return sdk.triggers.create(
        name,
        dataset=dataset,
        alias="router",
        gate={"metric": "accuracy", "min_delta": 0.0, "eval_dataset_id": dataset.id},
        job={"base_model": TINY_BASE_MODEL, "hyperparameters": TINY_JOB},
    )


def test_trigger_fire_whose_answer_is_lost_starts_one_retrain(
    app_client: TestClient, credentials: TeamCredentials
) -> None:
    plain = sdk_over(LosesFirstAnswer(app_client, lambda _request: False), credentials)
    dataset = plain.datasets.upload(example_rows())
    trigger = tiny_trigger(plain, "nightly", dataset)
    lossy = LosesFirstAnswer(app_client, lambda request: request.url.path.endswith("/fire"))
    pipeline = sdk_over(lossy, credentials)

    fired = pipeline.triggers.fire(
        trigger.url, trigger.secret or "", [{"text": "where is my parcel", "label": "billing"}]
    )

    fires = [r for r in lossy.seen if r.url.path.endswith("/fire")]
    assert "authorization" not in fires[0].headers, "a fire is signed, not keyed"
    assert fires[0].headers["webhook-id"] == fires[1].headers["webhook-id"]
    assert [run.id for run in plain.triggers.runs(trigger)] == [fired.run.id]
    assert plain.datasets.get(fired.dataset_id).parent_id == dataset.id


def test_a_secret_rotation_whose_answer_is_lost_rotates_once(
    app_client: TestClient, credentials: TeamCredentials
) -> None:
    plain = sdk_over(LosesFirstAnswer(app_client, lambda _request: False), credentials)
    dataset = plain.datasets.upload(example_rows())
    trigger = tiny_trigger(plain, "weekly", dataset)
    lossy = LosesFirstAnswer(app_client, lambda request: request.url.path.endswith("/secret"))

    rotated = sdk_over(lossy, credentials).triggers.rotate_secret(trigger)
    by_new = plain.triggers.fire(rotated.url, rotated.secret or "", [])
    by_old = plain.triggers.fire(trigger.url, trigger.secret or "", [])

    assert len([r for r in lossy.seen if r.url.path.endswith("/secret")]) == 2
    assert rotated.secret not in (None, trigger.secret)
    assert by_new.run.id, "the secret the client was given is the current one"
    assert by_old.run.id, "rotated once: the original is the previous secret, in its grace"


def test_overloaded_answers_are_retried_no_sooner_than_retry_after(
    app_client: TestClient, credentials: TeamCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(client_transport.time, "sleep", waits.append)
    busy = OverloadedFirst(app_client, times=2, retry_after="3")
    sdk = sdk_over(busy, credentials, Retries(attempts=3, backoff=0.01))

    datasets = list(sdk.datasets.list())

    assert datasets == []
    assert busy.attempts == 3
    assert waits == [3.0, 3.0]


def test_retries_are_bounded_and_end_in_a_typed_error(
    app_client: TestClient, credentials: TeamCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_transport.time, "sleep", lambda _seconds: None)
    busy = OverloadedFirst(app_client, times=10, retry_after="1")
    unreachable = Unreachable()

    with pytest.raises(Overloaded) as overloaded:
        sdk_over(busy, credentials, Retries(attempts=2)).models.predict("m", "hi")
    with pytest.raises(ConnectionFailed):
        sdk_over(unreachable, credentials, Retries(attempts=2)).datasets.upload(example_rows())

    assert overloaded.value.retry_after == 1
    assert busy.attempts == 3
    assert unreachable.attempts == 3


def test_a_dropped_event_stream_resumes_after_the_last_event_seen(
    app_client: TestClient, credentials: TeamCredentials, sqlite_settings: Settings
) -> None:
    cutting = BreaksFirstStream(app_client, events=3)
    sdk = sdk_over(cutting, credentials)
    dataset = sdk.datasets.upload(example_rows())
    job = sdk.jobs.create(dataset, base_model=TINY_BASE_MODEL, hyperparameters=TINY_JOB)
    runner = threading.Timer(0.3, run_queued_jobs, args=(sqlite_settings,))
    runner.start()
    updates: list[JobUpdate] = []

    ended = sdk.jobs.wait(job, on_progress=updates.append, timeout=120)
    runner.join()

    sequences = [u.event.sequence for u in updates if u.event is not None]
    assert ended.status == "succeeded"
    assert len(cutting.streams) == 2
    assert "last-event-id" not in cutting.streams[0].headers
    assert cutting.streams[1].headers["last-event-id"] == str(sequences[2])
    assert sequences == sorted(set(sequences)), "no event twice, none lost"
    assert sequences == [e.sequence for e in sdk.jobs.events(job)]
