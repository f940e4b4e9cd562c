"""Re-sealing every stored secret under the first key: after an upgrade from plaintext
secrets, and after a new key is put in front of ADAPTD_SECRET_KEYS."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.sealing import keyring_of
from app.models import Trigger, WebhookEndpoint


def reseal_all(session: Session, settings: Settings) -> int:
    """How many values were sealed anew; those already sealed with the first key are left.
    With nothing stored, no key is needed (none is made)."""
    endpoints = session.scalars(select(WebhookEndpoint).with_for_update()).all()
    triggers = session.scalars(select(Trigger).with_for_update()).all()
    if not endpoints and not triggers:
        return 0
    keyring = keyring_of(settings)
    resealed = 0
    for endpoint in endpoints:
        if not keyring.is_current(endpoint.sealed_secret):
            endpoint.sealed_secret = keyring.reseal(endpoint.sealed_secret)
            resealed += 1
    for trigger in triggers:
        if not keyring.is_current(trigger.sealed_secret):
            trigger.sealed_secret = keyring.reseal(trigger.sealed_secret)
            resealed += 1
        previous = trigger.sealed_previous_secret
        if previous is not None and not keyring.is_current(previous):
            trigger.sealed_previous_secret = keyring.reseal(previous)
            resealed += 1
    session.flush()
    return resealed
