"""Predict requests reuse a recent lookup of their key and model; what another process
changes takes effect within the lookup's lifetime, and what this process changes at once."""

import asyncio
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, update
from sqlalchemy.orm import Session

from app.api.deps import warm_up_lookups
from app.core.config import Settings
from app.core.db import get_engine
from app.models import Alias, ApiKey
from app.schemas.model import PredictResponse
from app.serving.lookups import LookupCache
from tests.factories import TeamCredentials, trained_model

TEXTS = ["refund my money", "hi", "my card was charged twice", "good morning to you"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(client: TestClient) -> Clock:
    clock = Clock()
    lookups: LookupCache[Any] = client.app.state.lookups  # type: ignore[attr-defined]
    lookups.clock = clock
    return clock


@pytest.fixture
def elsewhere(settings: Settings) -> Iterator[Any]:
    """A connection outside this process's ORM sessions, as another replica would write."""
    engine = create_engine(settings.sqlalchemy_url)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def predict(client: TestClient, team: TeamCredentials, name: str, texts: Any = "hi") -> Any:
    return client.post(f"/v1/models/{name}/predict", headers=team.headers, json={"inputs": texts})


def test_a_key_revoked_elsewhere_is_refused_once_the_lookup_expires(
    client: TestClient, team: TeamCredentials, settings: Settings, clock: Clock, elsewhere: Any
) -> None:
    model = trained_model(client, team, settings)
    assert predict(client, team, model["id"]).status_code == 200

    elsewhere.execute(
        update(ApiKey).where(ApiKey.team_id == team.team_id).values(revoked_at=datetime.now(UTC))
    )
    elsewhere.commit()

    clock.now += settings.predict_lookup_ttl_seconds / 2
    assert predict(client, team, model["id"]).status_code == 200
    clock.now += settings.predict_lookup_ttl_seconds / 2
    assert predict(client, team, model["id"]).status_code == 401


def test_a_key_revoked_through_this_server_is_refused_at_once(
    client: TestClient, team: TeamCredentials, settings: Settings, clock: Clock, session: Session
) -> None:
    model = trained_model(client, team, settings)
    assert predict(client, team, model["id"]).status_code == 200
    key = session.query(ApiKey).filter_by(team_id=team.team_id).one()

    revoked = client.delete(
        f"/v1/teams/{team.team_id}/keys/{key.id}",
        headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"},
    )

    assert revoked.status_code == 204
    assert predict(client, team, model["id"]).status_code == 401


def test_an_alias_moved_elsewhere_serves_its_new_model_once_the_lookup_expires(
    client: TestClient, team: TeamCredentials, settings: Settings, clock: Clock, elsewhere: Any
) -> None:
    first, second = trained_model(client, team, settings), trained_model(client, team, settings)
    client.put("/v1/aliases/router", headers=team.headers, json={"model_id": first["id"]})
    assert predict(client, team, "router").json()["model_id"] == first["id"]

    elsewhere.execute(update(Alias).where(Alias.name == "router").values(model_id=second["id"]))
    elsewhere.commit()

    assert predict(client, team, "router").json()["model_id"] == first["id"]
    clock.now += settings.predict_lookup_ttl_seconds
    assert predict(client, team, "router").json()["model_id"] == second["id"]


def test_an_alias_moved_through_this_server_serves_its_new_model_at_once(
    client: TestClient, team: TeamCredentials, settings: Settings, clock: Clock
) -> None:
    first, second = trained_model(client, team, settings), trained_model(client, team, settings)
    client.put("/v1/aliases/router", headers=team.headers, json={"model_id": first["id"]})
    assert predict(client, team, "router").json()["model_id"] == first["id"]

    moved = client.put("/v1/aliases/router", headers=team.headers, json={"model_id": second["id"]})

    assert moved.status_code == 200, moved.text
    assert predict(client, team, "router").json()["model_id"] == second["id"]


def test_a_request_of_many_texts_answers_as_one_request_per_text(
    client: TestClient, team: TeamCredentials, settings: Settings
) -> None:
    model = trained_model(client, team, settings)
    texts = [f"{TEXTS[index % len(TEXTS)]} {'again ' * (index % 7)}" for index in range(64)]

    together = predict(client, team, model["id"], texts)
    alone = [predict(client, team, model["id"], [text]).json() for text in texts]

    assert together.status_code == 200
    body = PredictResponse.model_validate_json(together.content)
    assert len(body.predictions) == 64
    for prediction, single in zip(together.json()["predictions"], alone, strict=True):
        assert prediction["label"] == single["predictions"][0]["label"]
        assert prediction["score"] == pytest.approx(single["predictions"][0]["score"], abs=1e-5)


def test_the_lookup_cache_forgets_after_its_lifetime_and_on_any_write() -> None:
    clock = Clock()
    cache: LookupCache[str] = LookupCache(1.0, clock)
    cache.put("key", "value")
    assert cache.get("key") == "value"
    clock.now += 1.0
    assert cache.get("key") is None

    cache.put("key", "value")
    cache.clear()
    assert cache.get("key") is None
    assert LookupCache(0.0, clock).get("anything") is None


def test_requests_missing_one_answer_at_once_share_one_lookup() -> None:
    cache: LookupCache[str] = LookupCache(1.0)
    calls: list[str] = []
    started, release = threading.Event(), threading.Event()

    def look_up() -> str:
        calls.append("looked up")
        started.set()
        release.wait(10)
        return "value"

    async def many_requests() -> list[str]:
        waiting = [asyncio.ensure_future(cache.get_or_look_up("key", look_up)) for _ in range(32)]
        await asyncio.to_thread(started.wait, 10)
        release.set()
        return await asyncio.gather(*waiting)

    assert asyncio.run(many_requests()) == ["value"] * 32
    assert calls == ["looked up"]
    assert cache.get("key") == "value"


def test_a_failed_lookup_fails_every_request_waiting_and_is_tried_again_next_time() -> None:
    cache: LookupCache[str] = LookupCache(1.0)
    answers = iter([LookupError("the database did not answer"), "value"])

    def look_up() -> str:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def two_requests() -> list[str | BaseException]:
        both = [cache.get_or_look_up("key", look_up) for _ in range(2)]
        return await asyncio.gather(*both, return_exceptions=True)

    assert [type(outcome) for outcome in asyncio.run(two_requests())] == [LookupError] * 2
    assert asyncio.run(cache.get_or_look_up("key", look_up)) == "value"


def test_warming_up_runs_every_query_of_a_model_lookup_before_the_first_request(
    settings: Settings,
) -> None:
    statements: list[str] = []

    def record(*arguments: Any) -> None:
        statements.append(arguments[2])

    engine = get_engine(settings.sqlalchemy_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        warm_up_lookups(settings)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    queried = {table for statement in statements for table in re.findall(r"FROM (\w+)", statement)}
    assert queried == {"api_key", "model", "alias", "team"}


def test_warming_up_with_no_database_leaves_the_server_to_start(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )

    warm_up_lookups(unreachable)

    assert "could not warm up the model lookups" in caplog.text
