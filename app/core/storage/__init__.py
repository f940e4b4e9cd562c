"""The artifact store: a local directory (the embedded default) or S3-compatible object
storage with a bounded copy on each host; `open_store` picks the one the settings name."""

from typing import Any

from app.core.config import Settings
from app.core.storage.base import (
    MANIFEST_NAME,
    Area,
    ArtifactCorrupt,
    ArtifactMissing,
    ArtifactStore,
    ArtifactStoreUnavailable,
    Mirror,
    StoredEntry,
    size_of,
)
from app.core.storage.local import LocalStore

__all__ = [
    "MANIFEST_NAME",
    "Area",
    "ArtifactCorrupt",
    "ArtifactMissing",
    "ArtifactStore",
    "ArtifactStoreUnavailable",
    "LocalStore",
    "Mirror",
    "StoredEntry",
    "open_store",
    "size_of",
]


def open_store(settings: Settings) -> ArtifactStore:
    if settings.artifact_store_url is None:
        return LocalStore(settings.artifact_root)
    from app.core.storage.objects import ObjectStore

    return ObjectStore(
        settings.artifact_store_url,
        work_dir=settings.artifact_root,
        cache_max_bytes=settings.artifact_cache_max_bytes,
        retry_seconds=settings.artifact_store_retry_seconds,
        storage_options=_options_for(settings),
    )


def _options_for(settings: Settings) -> dict[str, Any]:
    """botocore gives up fast (the store retries for `artifact_store_retry_seconds` itself),
    so that a health check answers in seconds while the store is down."""
    if not (settings.artifact_store_url or "").startswith(("s3://", "s3a://")):
        return {}
    options: dict[str, Any] = {
        "config_kwargs": {
            "connect_timeout": 3,
            "read_timeout": 60,
            "retries": {"max_attempts": 1, "mode": "standard"},
        },
    }
    if settings.s3_endpoint_url:
        options["endpoint_url"] = settings.s3_endpoint_url
    return options
