"""Finish retrains whose job has ended: gate, decide, move the alias, announce."""

import logging

from app.core.config import Settings
from app.core.db import new_session
from app.core.storage import ArtifactStore
from app.services import retrains

logger = logging.getLogger(__name__)


def advance_due(settings: Settings) -> list[str]:
    with new_session(settings) as session:
        claimed = retrains.claim_finished(session)
    store = ArtifactStore(settings.artifact_root)
    for run_id in claimed:
        with new_session(settings) as session:
            try:
                retrains.decide(session, run_id=run_id, settings=settings, store=store)
            except Exception as error:
                logger.exception("retrain %s could not be decided", run_id)
                session.rollback()
                retrains.fail(session, run_id=run_id, reason=f"the gate failed: {error}")
    return claimed
