from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import get_engine, new_session
from app.core.migrate import alembic_config, upgrade_database
from app.core.sealing import Keyring, UnreadableSecret, keyring_of, new_key
from app.models import IdempotencyRecord, Trigger, WebhookEndpoint
from tests.api.test_triggers import fire
from tests.factories import TeamCredentials, create_dataset

SECRET = "whsec_c2VjcmV0LXN0b3JlZC1iZWZvcmUtc2VhbGluZw=="


def test_a_new_first_key_seals_while_older_keys_still_open() -> None:
    old, new = new_key(), new_key()
    sealed_by_old = Keyring([old]).seal("whsec_abc")
    both = Keyring([new, old])

    assert both.open(sealed_by_old) == "whsec_abc"
    assert not both.is_current(sealed_by_old)
    resealed = both.reseal(sealed_by_old)
    assert both.is_current(resealed)
    assert Keyring([new]).open(resealed) == "whsec_abc"
    with pytest.raises(UnreadableSecret, match="restore the key"):
        Keyring([new]).open(sealed_by_old)


def test_secret_keys_setting_names_the_key_that_is_not_a_fernet_key() -> None:
    with pytest.raises(ValidationError, match="key 2 is not a Fernet key"):
        Settings(secret_keys=f"{new_key()}, not-a-key")  # type: ignore[arg-type]


def test_without_keys_the_data_directory_key_is_made_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    sealed = keyring_of(settings).seal("whsec_abc")

    assert settings.secret_key_file.stat().st_mode & 0o777 == 0o600
    again = Settings(data_dir=tmp_path)
    assert keyring_of(again).open(sealed) == "whsec_abc"


def test_stored_secrets_and_replayable_answers_hold_no_plaintext(
    client: TestClient, team: TeamCredentials, session: Session, settings: Settings
) -> None:
    webhook = client.post(
        "/v1/webhooks",
        headers={**team.headers, "Idempotency-Key": "hook"},
        json={"url": "https://93.184.215.14/hook", "events": ["job.succeeded"]},
    ).json()
    dataset_id = create_dataset(client, team)
    trigger = client.post(
        "/v1/triggers",
        headers=team.headers,
        json={
            "name": "nightly",
            "dataset_id": dataset_id,
            "alias": "prod",
            "gate": {"eval_dataset_id": dataset_id},
            "job": {"strategy": "frozen"},
        },
    )
    assert trigger.status_code == 201, trigger.text

    settings.secret_key_file.write_text(new_key())
    lost_key = fire(client, trigger.json(), "msg-1")
    assert lost_key.status_code == 503, lost_key.text
    assert "restore the key" in lost_key.json()["detail"]

    stored = [
        *session.scalars(select(WebhookEndpoint.sealed_secret)),
        *session.scalars(select(Trigger.sealed_secret)),
        *(str(body) for body in session.scalars(select(IdempotencyRecord.response))),
    ]
    for secret in (webhook["secret"], trigger.json()["secret"]):
        assert secret.startswith("whsec_")
        assert not any(secret in value for value in stored)
    replay = client.post(
        "/v1/webhooks",
        headers={**team.headers, "Idempotency-Key": "hook"},
        json={"url": "https://93.184.215.14/hook", "events": ["job.succeeded"]},
    )
    assert replay.status_code == 503, "the stored answer is sealed with the lost key"


def test_migrate_seals_plaintext_secrets_and_reseals_under_a_new_first_key(
    tmp_path: Path,
) -> None:
    first = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'adaptd.db'}",
        secret_keys=[SecretStr(new_key())],
    )
    command.upgrade(alembic_config(first), "0017")
    with get_engine(first.sqlalchemy_url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO team (id, name, quotas, created_at) "
                "VALUES ('team_1', 'acme', '{}', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO webhook_endpoint (id, team_id, url, events, secret, enabled, "
                "created_at) VALUES ('whk_1', 'team_1', 'https://example.com', '[]', :secret, "
                "1, CURRENT_TIMESTAMP)"
            ),
            {"secret": SECRET},
        )

    upgrade_database(first)
    with new_session(first) as session:
        sealed = session.scalars(select(WebhookEndpoint.sealed_secret)).one()
    assert not sealed.startswith("whsec_")
    assert keyring_of(first).open(sealed) == SECRET

    rotated = first.model_copy(update={"secret_keys": [SecretStr(new_key()), *first.secret_keys]})
    upgrade_database(rotated)
    only_new = first.model_copy(update={"secret_keys": rotated.secret_keys[:1]})
    with new_session(only_new) as session:
        resealed = session.scalars(select(WebhookEndpoint.sealed_secret)).one()
    assert resealed != sealed
    assert keyring_of(only_new).open(resealed) == SECRET
