"""Where the service is and which key to call it with: arguments first, then the environment."""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from adaptd.client.errors import ConfigurationError

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "ADAPTD_URL"
KEY_VARIABLE = "ADAPTD_API_KEY"
DATA_DIR_VARIABLE = "ADAPTD_DATA_DIR"
KEY_FILE_NAME = "api-key"


@dataclass(frozen=True)
class Connection:
    url: str
    api_key: str | None


def resolve(url: str | None = None, api_key: str | None = None) -> Connection:
    """The URL from `url`, `ADAPTD_URL` or the local default; the key from `api_key`,
    `ADAPTD_API_KEY`, or, for a service on this machine, the key file `adaptd serve` wrote on
    its first start (`$ADAPTD_DATA_DIR/api-key`, `./adaptd-data/api-key` by default)."""
    resolved_url = url or os.environ.get(URL_VARIABLE) or DEFAULT_URL
    if not resolved_url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"the service URL must start with http:// or https://, got {resolved_url!r}"
        )
    resolved_url = resolved_url.rstrip("/")
    return Connection(url=resolved_url, api_key=api_key or _key_from_environment(resolved_url))


def require_key(connection: Connection) -> str:
    if connection.api_key:
        return connection.api_key
    raise ConfigurationError(
        f"no API key: pass api_key=, set {KEY_VARIABLE}, or (for a service on this machine) "
        f"run where `adaptd serve` wrote {_local_key_file()}"
    )


def _key_from_environment(url: str) -> str | None:
    if key := os.environ.get(KEY_VARIABLE):
        return key.strip()
    key_file = _local_key_file()
    if _is_loopback(url) and key_file.is_file():
        return key_file.read_text().strip() or None
    return None


def _is_loopback(url: str) -> bool:
    """The local key file is only ever sent to a service on this machine."""
    return urlsplit(url).hostname in {"127.0.0.1", "localhost", "::1"}


def _local_key_file() -> Path:
    return Path(os.environ.get(DATA_DIR_VARIABLE, "adaptd-data")) / KEY_FILE_NAME
