from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings


def test_settings_embedded_default_uses_sqlite_in_data_dir() -> None:
    settings = Settings(data_dir=Path("some/dir"))

    assert settings.sqlalchemy_url.startswith("sqlite:///")
    assert settings.sqlalchemy_url.endswith("some/dir/adaptd.db")
    assert settings.uses_embedded_runner is True
    assert "all-MiniLM-L6-v2" in settings.registered_base_models


def test_settings_reads_database_url_without_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://user@db:5432/adaptd")
    monkeypatch.setenv("ADAPTD_BROKER_URL", "redis://redis:6379/0")

    settings = Settings()

    assert settings.sqlalchemy_url == "postgresql+psycopg://user@db:5432/adaptd"
    assert settings.uses_embedded_runner is False


def test_settings_rejects_unknown_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://db/adaptd")

    with pytest.raises(ValidationError, match="DATABASE_URL must start with postgresql"):
        Settings()


def test_settings_rejects_unregistered_default_base_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADAPTD_DEFAULT_BASE_MODEL", "bert-huge")

    with pytest.raises(ValidationError, match="'bert-huge' is not registered"):
        Settings()


def test_settings_rejects_lease_shorter_than_two_heartbeats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADAPTD_HEARTBEAT_SECONDS", "30")
    monkeypatch.setenv("ADAPTD_LEASE_SECONDS", "45")

    with pytest.raises(ValidationError, match="ADAPTD_LEASE_SECONDS must be at least twice"):
        Settings()


@pytest.mark.parametrize("variable", ["ADAPTD_ADMIN_TOKEN", "ADAPTD_BOOTSTRAP_API_KEY"])
def test_settings_reject_short_secrets(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "short-secret")

    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings()
