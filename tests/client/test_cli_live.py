"""The CLI and the async SDK against a live `adaptd serve`: exit codes scripts rely on, Ctrl-C
while following a job, and a lost answer that a retry recovers without doing the work twice."""

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adaptd.client import AsyncClient, Client
from tests.client.live import LiveService, live_service
from tests.client.proxy import answer_losing_proxy
from tests.factories import csv_bytes, example_rows

pytestmark = pytest.mark.e2e

ADAPTD = [sys.executable, "-c", "from adaptd.cli import main; main()"]


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_path: str
) -> Iterator[LiveService]:
    with live_service(tmp_path_factory.mktemp("cli"), tiny_model_path) as live:
        yield live


def adaptd(
    service: LiveService, *args: str, url: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = service.environment()
    if url:
        environment["ADAPTD_URL"] = url
    return subprocess.run(
        [*ADAPTD, *args],
        cwd=service.workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def dataset_id(service: LiveService) -> str:
    (service.workdir / "intents.csv").write_bytes(csv_bytes(example_rows()))
    uploaded = adaptd(service, "datasets", "upload", "intents.csv", "--quiet")
    assert uploaded.returncode == 0, uploaded.stderr
    return uploaded.stdout.strip()


def test_exit_codes_tell_failures_apart(service: LiveService, dataset_id: str) -> None:
    (service.workdir / "bad.csv").write_text("text,label\nhello,greeting\nhi,greeting\n,greeting\n")

    bad = adaptd(service, "datasets", "upload", "bad.csv")
    bad_json = adaptd(service, "datasets", "upload", "bad.csv", "--json")
    missing = adaptd(service, "predict", "no-such-alias", "hello")
    refused = adaptd(service, "models", "--api-key", "adk_not_a_key")
    unreachable = adaptd(service, "jobs", url="http://127.0.0.1:9")
    usage = adaptd(service, "train", dataset_id, "-p", "epochs")
    listed = adaptd(service, "datasets", "list", "--json")

    assert bad.returncode == 3
    assert "line 4" in bad.stderr
    assert "text is empty" in bad.stderr
    assert json.loads(bad_json.stdout)["errors"][0]["location"]
    assert missing.returncode == 4
    assert "no-such-alias" in missing.stderr
    assert refused.returncode == 6
    assert unreachable.returncode == 7
    assert usage.returncode == 2
    assert "NAME=VALUE" in usage.stderr
    assert [d["id"] for d in json.loads(listed.stdout)] == [dataset_id]


def test_ctrl_c_while_following_a_job_asks_and_cancels_it(
    service: LiveService, dataset_id: str
) -> None:
    epochs = ["-p", "epochs=100", "-p", "early_stopping_patience=null"]
    following = subprocess.Popen(
        [*ADAPTD, "train", dataset_id, "--wait", *epochs],
        cwd=service.workdir,
        env=service.environment(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: test workers may run with SIGINT ignored, which children inherit.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert following.stderr is not None
    queued = following.stderr.readline()
    job = queued.split()[1]
    with Client(service.url, service.api_key) as sdk:
        _wait_until_running(sdk, job)
        following.send_signal(signal.SIGINT)
        _, stderr = following.communicate("y\n", timeout=60)
        ended = sdk.jobs.wait(job, timeout=60)

    assert queued.startswith(f"job {job} queued")
    assert following.returncode == 130, stderr
    assert f"cancel job {job}?" in stderr
    assert ended.status == "cancelled"


def _wait_until_running(sdk: Client, job: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = sdk.jobs.get(job).status
        if status == "running":
            return
        assert status == "queued", f"job {job} is {status}"
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not start")


def test_a_lost_answer_is_retried_and_the_job_made_once(
    service: LiveService, dataset_id: str
) -> None:
    with Client(service.url, service.api_key) as sdk:
        before = {job.id for job in sdk.jobs.list()}
        with answer_losing_proxy(
            service.url, lambda method, path: method == "POST" and path == "/v1/jobs"
        ) as (proxy, lost):
            started = adaptd(service, "train", dataset_id, "--quiet", url=proxy)
        made = {job.id for job in sdk.jobs.list()} - before

    assert lost == ["POST /v1/jobs"]
    assert started.returncode == 0, started.stderr
    assert made == {started.stdout.strip()}


def test_async_client_uploads_trains_and_predicts(service: LiveService, tmp_path: Path) -> None:
    async def walkthrough() -> tuple[str, list[str], list[str], Path]:
        async with AsyncClient(service.url, service.api_key) as sdk:
            dataset = await sdk.datasets.upload(example_rows(), name="async")
            job = await sdk.jobs.create(dataset, strategy="frozen")
            statuses: list[str] = []
            ended = await sdk.jobs.wait(job, on_progress=lambda u: statuses.append(u.status))
            assert ended.model_id
            answer = await sdk.models.predict(ended.model_id, ["hello there", "refund my payment"])
            assert len(answer.predictions) == 2
            names = [d.name async for d in sdk.datasets.list(page_size=1)]
            folder = await sdk.models.download(ended.model_id, tmp_path)
            return ended.status, statuses, names, folder

    status, statuses, names, folder = asyncio.run(walkthrough())

    assert status == "succeeded"
    assert statuses[0] == "queued"
    assert statuses[-1] == "succeeded"
    assert "async" in names
    assert (folder / "adaptd.json").is_file()


def test_an_evaluation_runs_as_a_job_that_the_jobs_table_names(
    service: LiveService, dataset_id: str
) -> None:
    trained = adaptd(service, "train", dataset_id, "--strategy", "frozen", "--wait", "--quiet")
    assert trained.returncode == 0, trained.stderr
    model_id = trained.stdout.strip()

    evaluated = adaptd(service, "evaluation", model_id, "--dataset", dataset_id, "--evaluate")
    listed = adaptd(service, "jobs", "--json")

    assert evaluated.returncode == 0, evaluated.stderr
    assert f"{model_id} on {dataset_id}" in evaluated.stdout
    evaluations = [job for job in json.loads(listed.stdout) if job["kind"] == "evaluate"]
    assert [(job["model_id"], job["status"]) for job in evaluations] == [(model_id, "succeeded")]
    assert evaluations[0]["result"]["evaluation_id"]


def test_a_table_wider_than_the_terminal_keeps_every_column(
    service: LiveService, dataset_id: str
) -> None:
    environment = {**service.environment(), "COLUMNS": "80"}
    listed = subprocess.run(
        [*ADAPTD, "jobs"], cwd=service.workdir, env=environment, capture_output=True, text=True
    )

    header = next(line for line in listed.stdout.splitlines() if "status" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == [
        "id",
        "status",
        "kind",
        "strategy",
        "dataset",
        "model",
        "created",
    ]


def test_an_admin_key_makes_and_revokes_a_key_from_the_command_line(
    service: LiveService,
) -> None:
    made = adaptd(service, "keys", "create", "ci-pipeline", "--scopes", "read")
    secret = made.stdout.strip()
    key_id = made.stderr.split()[1]
    listed = adaptd(service, "keys", "list", "--json")
    reader = {**service.environment(), "ADAPTD_API_KEY": secret}
    refused = subprocess.run(
        [*ADAPTD, "keys"], cwd=service.workdir, env=reader, capture_output=True, text=True
    )
    revoked = adaptd(service, "keys", "revoke", key_id)
    afterwards = subprocess.run(
        [*ADAPTD, "jobs"], cwd=service.workdir, env=reader, capture_output=True, text=True
    )

    assert made.returncode == 0, made.stderr
    assert secret.startswith("adk_")
    assert {k["id"]: k["scopes"] for k in json.loads(listed.stdout)}[key_id] == ["read"]
    assert refused.returncode == 6
    assert "admin" in refused.stderr
    assert revoked.returncode == 0, revoked.stderr
    assert afterwards.returncode == 6
