import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations
from app.core.config import Settings
from app.core.db import session_scope
from app.services.secrets import reseal_all

logger = logging.getLogger(__name__)


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["sqlalchemy_url"] = settings.sqlalchemy_url
    return config


def upgrade_database(settings: Settings) -> None:
    """The newest schema, with every stored secret sealed under the first key."""
    command.upgrade(alembic_config(settings), "head")
    with session_scope(settings) as session:
        resealed = reseal_all(session, settings)
    if resealed:
        logger.info("sealed %d stored secrets with the first key of ADAPTD_SECRET_KEYS", resealed)
