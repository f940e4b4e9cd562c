from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from app.core.config import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["sqlalchemy_url"] = settings.sqlalchemy_url
    return config


def upgrade_database(settings: Settings) -> None:
    command.upgrade(alembic_config(settings), "head")
