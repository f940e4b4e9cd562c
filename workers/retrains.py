"""Finish retrains whose job has ended: gate, decide, move the alias, announce."""

import logging

from app.core.config import Settings
from app.core.db import new_session
from app.core.storage import open_store
from app.services import retrains

logger = logging.getLogger(__name__)


def advance_due(settings: Settings) -> list[str]:
    with new_session(settings) as session:
        claimed = retrains.claim_finished(session)
    store = open_store(settings)
    for claim in claimed:
        with new_session(settings) as session:
            try:
                retrains.decide(session, claim=claim, settings=settings, store=store)
            except Exception as error:
                logger.exception("retrain %s could not be decided", claim.run_id)
                session.rollback()
                retrains.fail(session, claim=claim, reason=f"the gate failed: {error}")
    return [claim.run_id for claim in claimed]
