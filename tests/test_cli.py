import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import new_session
from app.main import create_app
from tests.factories import create_dataset, create_job, make_team, run_queued_jobs
from tests.standalone import best, card_scores

pytestmark = pytest.mark.e2e


def adaptd(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={"ADAPTD_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_migrates_and_creates_team_and_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    migrated = adaptd("migrate", data_dir=data_dir)
    team = adaptd("create-team", "support", data_dir=data_dir)
    key = adaptd("create-key", "--team", "support", "--scopes", "read", data_dir=data_dir)
    duplicate = adaptd("create-team", "support", data_dir=data_dir)
    bad_scope = adaptd("create-key", "--team", "support", "--scopes", "root", data_dir=data_dir)

    assert migrated.returncode == 0, migrated.stderr
    assert team.stdout.strip().startswith("team_")
    assert key.stdout.strip().startswith("adk_")
    assert duplicate.returncode != 0
    assert "already exists" in duplicate.stderr
    assert bad_scope.returncode != 0
    assert "unknown scopes ['root']" in bad_scope.stderr
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        headers = {"Authorization": f"Bearer {key.stdout.strip()}"}
        assert client.get("/v1/datasets", headers=headers).status_code == 200
        assert client.post("/v1/datasets", headers=headers, json={}).status_code == 403


def test_cli_reports_invalid_configuration(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env={"ADAPTD_DATA_DIR": str(tmp_path), "ADAPTD_HEARTBEAT_SECONDS": "-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "invalid configuration" in result.stderr
    assert "heartbeat_seconds" in result.stderr


def test_cli_exports_lora_model_merged_for_transformers(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    settings = sqlite_settings
    with TestClient(create_app(settings)) as client:
        with new_session(settings) as session:
            team = make_team(session, "acme")
        dataset_id = create_dataset(client, team)
        ids = {}
        for strategy in ("lora", "frozen"):
            hyperparameters = {"epochs": 1, "r": 4} if strategy == "lora" else {"epochs": 1}
            create_job(client, team, dataset_id, strategy=strategy, hyperparameters=hyperparameters)
            run_queued_jobs(settings)
            ids[strategy] = client.get("/v1/models", headers=team.headers).json()["data"][0]["id"]
        served = client.post(
            f"/v1/models/{ids['lora']}/predict", headers=team.headers, json={"inputs": TEXT}
        ).json()["predictions"][0]
    environment = {
        "ADAPTD_DATA_DIR": str(settings.data_dir),
        "ADAPTD_DATABASE_URL": settings.database_url,
        "ADAPTD_BASE_MODELS": json.dumps(settings.base_models),
        "PATH": "/usr/bin:/bin",
    }

    exported = run_cli("export-model", ids["lora"], str(tmp_path / "merged"), env=environment)
    refused = run_cli("export-model", ids["frozen"], str(tmp_path / "frozen"), env=environment)

    assert exported.returncode == 0, exported.stderr
    assert refused.returncode != 0
    assert "only full and lora" in refused.stderr
    label, score = best(card_scores(tmp_path / "merged", [TEXT])[0])
    assert label == served["label"]
    assert score == pytest.approx(served["score"], abs=1e-4)


TEXT = "refund my payment please"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
