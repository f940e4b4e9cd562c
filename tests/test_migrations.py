"""The schema the migrations build is the schema the models declare (tables, columns,
indexes), on both databases."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from app.models import Base


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_migrated_schema_matches_the_models(
    database: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"migrated_{database}_url")
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
