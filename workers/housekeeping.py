"""The retention sweep, run by every worker and the embedded runner every
`retention_sweep_seconds` (sweeps running side by side remove nothing twice)."""

import logging
from datetime import timedelta

from app.core.config import Settings
from app.core.db import new_session
from app.core.storage import open_store
from app.services import retention

logger = logging.getLogger(__name__)


def sweep(settings: Settings) -> dict[str, int]:
    store = open_store(settings)
    grace = timedelta(hours=settings.retention_artifact_grace_hours)
    with new_session(settings) as session:
        removed = retention.sweep(session, retention.rules(settings))
        removed |= retention.sweep_store(session, store, grace=grace)
    if any(removed.values()):
        logger.info("retention sweep removed %s", removed)
    return removed
