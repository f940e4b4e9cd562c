from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext

from app.core.config import get_settings
from app.core.db import get_engine
from app.models import Base
from app.models.base import UTCDateTime

config = context.config


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | bool:
    """Migrations spell the portable type; UTCDateTime only adds behaviour in Python."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


url = config.attributes.get("sqlalchemy_url") or get_settings().sqlalchemy_url


def run_migrations_offline() -> None:
    context.configure(
        url=url, target_metadata=Base.metadata, render_as_batch=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with get_engine(url).connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
