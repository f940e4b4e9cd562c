import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import get_engine, new_session
from app.core.migrate import upgrade_database
from app.main import create_app
from app.models import Base
from tests.factories import TeamCredentials, make_team
from tests.s3_server import S3Server
from tests.tiny_model import TINY_BASE_MODEL, build_tiny_bert

POSTGRES_SERVER_URL = os.environ.get(
    "ADAPTD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ADMIN_TOKEN = "test-admin-token"
CLINC150 = Path(
    os.environ.get(
        "ADAPTD_CLINC150", Path(__file__).resolve().parents[2] / "shared" / "datasets" / "clinc150"
    )
)


def pytest_configure(config: pytest.Config) -> None:
    """Test processes run side by side (pytest-xdist), one per core: each keeps torch, and
    the processes it starts, to one thread, so that they do not contend for the cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(scope="session")
def worker_index(worker_id: str) -> int:
    """0 for the only test process, else the xdist worker's number (gw0 is 0)."""
    return 0 if worker_id == "master" else int(worker_id.removeprefix("gw"))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny-bert")))


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """An S3 server on loopback for this test process (see `tests.s3_server`)."""
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    name = f"adaptd_test_{secrets.token_hex(4)}"
    server = create_engine(POSTGRES_SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_SERVER_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    get_engine(url).dispose()
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


@pytest.fixture(scope="session")
def migrated_postgresql_url(postgres_url: str) -> str:
    upgrade_database(Settings(database_url=postgres_url))
    return postgres_url


@pytest.fixture(scope="session")
def migrated_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'adaptd.db'}"
    upgrade_database(Settings(database_url=url))
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"migrated_{request.param}_url")
    return url


def make_settings(database_url: str, tmp_path: Path, tiny_model_path: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        broker_url=None,
        admin_token=ADMIN_TOKEN,
        base_models={TINY_BASE_MODEL: tiny_model_path},
        heartbeat_seconds=0.5,
        runner_poll_seconds=0.1,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, tiny_model_path: str) -> Iterator[Settings]:
    yield make_settings(database_url, tmp_path, tiny_model_path)
    empty_tables(database_url)


@pytest.fixture
def postgres_settings(
    migrated_postgresql_url: str, tmp_path: Path, tiny_model_path: str
) -> Iterator[Settings]:
    yield make_settings(migrated_postgresql_url, tmp_path, tiny_model_path)
    empty_tables(migrated_postgresql_url)


@pytest.fixture
def sqlite_settings(
    migrated_sqlite_url: str, tmp_path: Path, tiny_model_path: str
) -> Iterator[Settings]:
    yield make_settings(migrated_sqlite_url, tmp_path, tiny_model_path)
    empty_tables(migrated_sqlite_url)


def empty_tables(url: str) -> None:
    engine = get_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    with new_session(settings) as session:
        yield session


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def team(session: Session) -> TeamCredentials:
    return make_team(session, "acme")


@pytest.fixture
def other_team(session: Session) -> TeamCredentials:
    return make_team(session, "globex")
