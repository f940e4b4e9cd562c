import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app


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
