import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Dataset, DatasetExample
from app.services import dataset_versions, datasets
from tests.api.test_triggers import create_trigger, fire
from tests.factories import TeamCredentials


def stored_rows(session: Session, dataset_id: str) -> int:
    count = select(func.count()).where(DatasetExample.dataset_id == dataset_id)
    return int(session.scalar(count) or 0)


def texts_of(session: Session, dataset_id: str) -> list[str]:
    return [example.text for example in datasets.get_examples(session, dataset_id=dataset_id)]


def fire_versions(client: TestClient, trigger: dict[str, object], count: int) -> list[str]:
    answers = [
        fire(client, trigger, f"call-{n}", [{"text": f"good evening {n}", "label": "greeting"}])
        for n in range(count)
    ]
    assert all(answer.status_code == 202 for answer in answers)
    return [answer.json()["dataset_id"] for answer in answers]


def test_a_trigger_calls_version_stores_only_its_new_rows_and_reads_all(
    client: TestClient, team: TeamCredentials, session: Session
) -> None:
    trigger = create_trigger(client, team)
    base = session.get_one(Dataset, trigger["dataset_id"])
    first, second = fire_versions(client, trigger, 2)

    assert stored_rows(session, first) == 1
    assert stored_rows(session, second) == 1
    assert texts_of(session, second) == [
        *texts_of(session, base.id),
        "good evening 0",
        "good evening 1",
    ]
    assert session.get_one(Dataset, second).num_examples == base.num_examples + 2


def test_deleting_a_version_hands_its_rows_to_the_versions_made_from_it(
    client: TestClient, team: TeamCredentials, session: Session
) -> None:
    trigger = create_trigger(client, team)
    first, second, third = fire_versions(client, trigger, 3)
    before = texts_of(session, third)

    datasets.delete(session, dataset=session.get_one(Dataset, second))
    datasets.delete(session, dataset=session.get_one(Dataset, first))
    session.commit()
    session.expire_all()

    assert texts_of(session, third) == before
    assert session.get_one(Dataset, third).parent_id == trigger["dataset_id"]
    assert stored_rows(session, third) == 3


def test_every_so_many_versions_one_is_stored_whole(
    client: TestClient, team: TeamCredentials, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_versions, "MAX_CHAIN_DEPTH", 2)
    trigger = create_trigger(client, team)
    versions = fire_versions(client, trigger, 4)

    depths = [session.get_one(Dataset, version).chain_depth for version in versions]
    assert depths == [1, 2, 0, 1]
    whole = session.get_one(Dataset, versions[2])
    assert stored_rows(session, whole.id) == whole.num_examples
    assert whole.parent_id == versions[1]
    assert texts_of(session, versions[3])[-4:] == [f"good evening {n}" for n in range(4)]
