import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from app.core.config import Settings
from app.core.db import new_session
from app.core.sealing import keyring_of, new_key
from app.main import create_app
from app.services import jobs, webhooks
from tests.e2e.processes import adaptd_process, wait_for
from tests.factories import create_dataset, create_job, make_team
from tests.webhook_receiver import webhook_receiver

BROKER_URL = os.environ.get("ADAPTD_TEST_BROKER_URL", "redis://127.0.0.1:6379/13")

pytestmark = pytest.mark.e2e


@pytest.fixture
def broker(worker_index: int) -> Iterator[str]:
    """A Redis database of this test process's own, emptied before and after the test: the
    configured one for the first process, the ones below it for the others."""
    server, database = BROKER_URL.rsplit("/", 1)
    url = f"{server}/{int(database) - worker_index}"
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.flushdb()
    connection.close()


@pytest.fixture
def rabbitmq_broker() -> Iterator[str]:
    """A RabbitMQ virtual host of this test's own on the local server (guest may use it),
    deleted afterwards."""
    rabbitmqctl = shutil.which("rabbitmqctl")
    assert rabbitmqctl, "the RabbitMQ broker test needs rabbitmq-server (.ci/run installs it)"
    vhost = f"adaptd-test-{secrets.token_hex(4)}"
    subprocess.run([rabbitmqctl, "-q", "add_vhost", vhost], check=True)
    subprocess.run(
        [rabbitmqctl, "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True
    )
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    subprocess.run([rabbitmqctl, "-q", "delete_vhost", vhost], check=False)


def worker_env(settings: Settings) -> dict[str, str]:
    return {
        "ADAPTD_DATABASE_URL": str(settings.database_url),
        "ADAPTD_BROKER_URL": str(settings.broker_url),
        "ADAPTD_ARTIFACTS_DIR": str(settings.artifact_root),
        "ADAPTD_BASE_MODELS": json.dumps(settings.base_models),
        "ADAPTD_HEARTBEAT_SECONDS": "0.5",
        "ADAPTD_SECRET_KEYS": ",".join(key.get_secret_value() for key in settings.secret_keys),
    }


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_celery_worker_trains_published_job_to_a_served_model(
    postgres_settings: Settings, broker_kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    broker = request.getfixturevalue("broker" if broker_kind == "redis" else "rabbitmq_broker")
    settings = postgres_settings.model_copy(update={"broker_url": broker})
    log = tmp_path / "worker.log"

    with (
        TestClient(create_app(settings)) as client,
        adaptd_process(["worker"], worker_env(settings), log),
    ):
        with new_session(settings) as session:
            team = make_team(session, "acme")
        job = create_job(client, team, create_dataset(client, team)).json()

        def finished() -> bool:
            body = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
            return body["status"] in ("succeeded", "failed")

        wait_for(finished, 180, "the Celery worker to finish the job", log)
        done = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
        prediction = client.post(
            f"/v1/models/{done['model_id']}/predict",
            headers=team.headers,
            json={"inputs": ["refund my payment"]},
        )

    assert job["status"] == "queued"
    assert done["status"] == "succeeded", done
    assert done["attempt"] == 1
    assert prediction.status_code == 200
    assert prediction.json()["model_id"] == done["model_id"]
    assert "celery@" in log.read_text()
    with new_session(settings) as session:
        assert jobs.get(session, team_id=team.team_id, job_id=job["id"]).worker.startswith(
            "celery@"
        )  # type: ignore[union-attr]


def test_job_committed_but_never_published_is_dispatched_by_a_worker(
    postgres_settings: Settings, broker: str, tmp_path: Path
) -> None:
    settings = postgres_settings.model_copy(update={"broker_url": broker})
    log = tmp_path / "worker.log"
    with TestClient(create_app(settings.model_copy(update={"broker_url": None}))) as client:
        with new_session(settings) as session:
            team = make_team(session, "acme")
        job = create_job(client, team, create_dataset(client, team)).json()
        env = {**worker_env(settings), "ADAPTD_MAINTENANCE_SECONDS": "0.5"}

        with adaptd_process(["worker"], env, log):

            def finished() -> bool:
                body = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()
                return body["status"] in ("succeeded", "failed")

            wait_for(finished, 180, "the worker to dispatch and finish the job", log)
        done = client.get(f"/v1/jobs/{job['id']}", headers=team.headers).json()

    assert done["status"] == "succeeded", done
    assert done["attempt"] == 1


def test_default_queue_worker_delivers_a_jobs_webhooks_signed(
    postgres_settings: Settings, broker: str, tmp_path: Path
) -> None:
    settings = postgres_settings.model_copy(
        update={"broker_url": broker, "secret_keys": [SecretStr(new_key())]}
    )
    env = {
        **worker_env(settings),
        "ADAPTD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "ADAPTD_MAINTENANCE_SECONDS": "0.5",
    }
    expected = ["job.queued", "job.running", "job.succeeded", "model.created"]

    with (
        webhook_receiver() as receiver,
        TestClient(create_app(settings)) as client,
        adaptd_process(["worker"], env, tmp_path / "training.log"),
        adaptd_process(["worker", "--queues", "default"], env, tmp_path / "webhooks.log"),
    ):
        with new_session(settings) as session:
            team = make_team(session, "acme")
        with new_session(settings) as session:
            keyring = keyring_of(settings)
            endpoint = webhooks.create(
                session, keyring=keyring, team_id=team.team_id, url=receiver.url, events=expected
            )
            session.commit()
            receiver.secret = keyring.open(endpoint.sealed_secret)
        create_job(client, team, create_dataset(client, team))

        wait_for(
            lambda: len(receiver.requests) >= 4,
            180,
            "four webhook deliveries",
            tmp_path / "webhooks.log",
        )

    assert [event["type"] for event in receiver.events_by_sequence] == expected
    assert all(request.verified is not None for request in receiver.requests)
