from collections.abc import Iterator
from ipaddress import ip_network

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from tests.webhook_receiver import Receiver, webhook_receiver


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    """Webhooks may reach the local receiver, and retry at once."""
    return settings.model_copy(
        update={
            "webhook_allowed_networks": [ip_network("127.0.0.1/32")],
            "webhook_retry_base_seconds": 0.0,
            "webhook_max_attempts": 4,
            "webhook_timeout_seconds": 5.0,
        }
    )


@pytest.fixture
def hook_client(hook_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(hook_settings)) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver
