"""The retention sweep, run by every worker and the embedded runner every
`retention_sweep_seconds` (sweeps running side by side remove nothing twice)."""

import logging

from app.core.config import Settings
from app.core.db import new_session
from app.services import retention

logger = logging.getLogger(__name__)


def sweep(settings: Settings) -> dict[str, int]:
    with new_session(settings) as session:
        removed = retention.sweep(session, retention.rules(settings))
    if any(removed.values()):
        logger.info("retention sweep removed %s", removed)
    return removed
