from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from adaptd.client import Client, Retries
from app.core.config import Settings
from app.core.db import new_session
from app.main import create_app
from tests.factories import TeamCredentials, make_team

NO_WAIT = Retries(attempts=3, backoff=0.0)


@pytest.fixture
def app_client(sqlite_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_settings)) as client:
        yield client


@pytest.fixture
def credentials(sqlite_settings: Settings) -> TeamCredentials:
    with new_session(sqlite_settings) as session:
        return make_team(session, "acme")


@pytest.fixture
def sdk(app_client: TestClient, credentials: TeamCredentials) -> Client:
    """The SDK over the app in this process (the same ASGI app `adaptd serve` runs)."""
    return Client("http://testserver", credentials.key, http=app_client, retries=NO_WAIT)


def sdk_over(
    transport: httpx.BaseTransport, credentials: TeamCredentials, retries: Retries = NO_WAIT
) -> Client:
    http = httpx.Client(base_url="http://testserver", transport=transport)
    return Client("http://testserver", credentials.key, http=http, retries=retries)
