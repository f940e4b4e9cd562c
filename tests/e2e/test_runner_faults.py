"""`adaptd serve` keeps its embedded runner going: through a database outage, and when the
runner's process is killed; /readyz says which component is down in between."""

import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_SERVER_URL
from tests.e2e.processes import adaptd_process, free_port, wait_for, wait_for_job
from tests.factories import csv_bytes, example_rows
from tests.tcp_proxy import TcpProxy, tcp_proxy
from tests.tiny_model import TINY_BASE_MODEL

pytestmark = pytest.mark.e2e
KEY = "adk_" + "runner-faults-key-0123456789"


@pytest.fixture
def database_through_proxy() -> Iterator[tuple[str, TcpProxy]]:
    """A database of its own, reached through a proxy the test can cut."""
    name = f"adaptd_faults_{secrets.token_hex(4)}"
    server = create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    parts = urlsplit(POSTGRES_SERVER_URL)
    with tcp_proxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        netloc = parts.netloc.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
        yield parts._replace(netloc=netloc, path=f"/{name}").geturl(), proxy
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def runner_pid(serve_pid: int) -> int:
    """The serve process's child started by multiprocessing's spawn (not its resource tracker)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == serve_pid and b"spawn_main" in command:
            return int(entry.name)
    raise AssertionError(f"no runner process under {serve_pid}")


def train(client: httpx.Client, dataset_id: str) -> str:
    job = client.post(
        "/v1/jobs",
        json={
            "dataset_id": dataset_id,
            "base_model": TINY_BASE_MODEL,
            "hyperparameters": {"epochs": 1, "batch_size": 4},
        },
    )
    assert job.status_code == 202, job.text
    return str(job.json()["id"])


def test_runner_outlives_a_database_outage_and_its_own_death(
    tmp_path: Path, tiny_model_path: str, database_through_proxy: tuple[str, TcpProxy]
) -> None:
    database_url, proxy = database_through_proxy
    port, log = free_port(), tmp_path / "serve.log"
    env = {
        "ADAPTD_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "ADAPTD_BOOTSTRAP_API_KEY": KEY,
        "ADAPTD_BASE_MODELS": f'{{"{TINY_BASE_MODEL}": "{tiny_model_path}"}}',
        "ADAPTD_RUNNER_POLL_SECONDS": "0.2",
        "ADAPTD_WEBHOOK_POLL_SECONDS": "0.2",
    }
    base = f"http://127.0.0.1:{port}"
    seen: list[dict[str, Any]] = []

    def readiness_shows(component: str, state: str) -> bool:
        answer = httpx.get(f"{base}/readyz", timeout=10)
        seen.append({**answer.json(), "code": answer.status_code})
        return bool(answer.json()["checks"].get(component) == state)

    with (
        adaptd_process(["serve", "--port", str(port)], env, log) as serve,
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}) as client,
    ):
        wait_for(lambda: readiness_shows("job_runner", "ok"), 90, "readiness", log)
        dataset = client.post(
            "/v1/datasets", files={"file": ("intents.csv", csv_bytes(example_rows()), "text/csv")}
        ).json()

        os.kill(runner_pid(serve.pid), signal.SIGKILL)
        wait_for(lambda: readiness_shows("job_runner", "down"), 30, "the runner down", log)
        down = seen[-1]
        after_kill = wait_for_job(client, train(client, dataset["id"]), 120, log)
        wait_for(lambda: readiness_shows("webhook_sender", "ok"), 60, "the sender back", log)

        proxy.down()
        wait_for(lambda: readiness_shows("job_runner", "failing"), 30, "the runner failing", log)
        outage = seen[-1]
        proxy.up()
        after_outage = wait_for_job(client, train(client, dataset["id"]), 120, log)
        wait_for(lambda: readiness_shows("job_runner", "ok"), 60, "readiness again", log)

    assert down["code"] == 503
    assert down["checks"]["webhook_sender"] == "down"
    assert after_kill["status"] == "succeeded", after_kill
    assert outage["code"] == 503
    assert outage["checks"]["database"] == "unavailable"
    assert after_outage["status"] == "succeeded", after_outage
    assert all(
        set(page["checks"].values()) <= {"ok", "unavailable", "failing", "stale", "down"}
        for page in seen
    ), "readiness names states, never exception text"
    assert "the job runner exited (code -9)" in log.read_text()
