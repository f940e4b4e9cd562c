"""The README's walkthrough, done with the CLI and with the SDK, against a live `adaptd serve`
on its embedded default (SQLite) and on PostgreSQL."""

import json
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from adaptd.client import Client
from tests.client.live import LiveService, live_service
from tests.client.readme import example
from tests.conftest import empty_tables

pytestmark = pytest.mark.e2e

MODEL_ID = re.compile(r"mdl_[0-9a-z]{26}")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model_path: str
) -> Iterator[LiveService]:
    database_url = None
    if request.param == "postgresql":
        database_url = request.getfixturevalue("migrated_postgresql_url")
        empty_tables(database_url)
    workdir = tmp_path_factory.mktemp(f"walkthrough-{request.param}")
    with live_service(workdir, tiny_model_path, database_url) as live:
        yield live
    if database_url:
        empty_tables(database_url)


def test_readme_walkthrough_with_the_cli(service: LiveService) -> None:
    script = "\n".join(["set -euo pipefail", example("data"), example("cli")])

    done = subprocess.run(
        ["bash", "-c", script],
        cwd=service.workdir,
        env=service.environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{service.log.read_text()[-3000:]}"
    predictions = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    texts = [p["text"] for p in predictions]
    assert texts == ["please add an export to excel", "my card was charged twice"]
    assert all(p["label"] in {"billing", "technical", "feature_request"} for p in predictions)
    assert "billing" in done.stdout, "the upload's per-label table"
    assert "epoch 1/" in done.stderr, "the job's progress, on stderr"
    assert "per label (worst F1 first)" in done.stdout
    model = MODEL_ID.findall(done.stdout)[0]
    assert (service.workdir / "models" / model / "config.json").is_file()
    scored = [line for line in done.stdout.splitlines() if line.startswith("I was billed twice ")]
    assert scored, "the model card's transformers code scored the downloaded model"
    assert scored[0].split()[4] in {"billing", "technical", "feature_request"}


def test_readme_walkthrough_with_the_sdk(service: LiveService) -> None:
    if not (service.workdir / "support.csv").exists():
        subprocess.run(["bash", "-c", example("data")], cwd=service.workdir, check=True)

    done = subprocess.run(
        [sys.executable, "-c", example("sdk")],
        cwd=service.workdir,
        env=service.environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    lines = done.stdout.splitlines()
    assert lines[0].startswith("queued")
    assert any(line.startswith("succeeded") for line in lines)
    label, score = lines[-2].split()
    assert label in {"billing", "technical", "feature_request"}
    assert 0 < float(score) <= 1
    assert 0 <= float(lines[-1]) <= 1
    with Client(service.url, service.api_key) as sdk:
        history = sdk.aliases.history("support-router")
    assert history[0].reason == "retrained from Python"
