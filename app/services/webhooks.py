"""A team's webhook subscriptions and their delivery logs."""

import base64
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.ids import is_well_formed, new_id
from app.core.sealing import Keyring
from app.models import WebhookDelivery, WebhookEndpoint
from app.services.queries import Page, get_owned, paginate
from app.services.webhook_events import pending_delivery


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def get(session: Session, *, team_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    return get_owned(session, WebhookEndpoint, team_id=team_id, id_=endpoint_id)


def get_all(
    session: Session, *, team_id: str, limit: int, after: str | None
) -> Page[WebhookEndpoint]:
    statement = select(WebhookEndpoint).where(WebhookEndpoint.team_id == team_id)
    return paginate(session, statement, WebhookEndpoint.id, limit=limit, after=after)


def create(
    session: Session, *, keyring: Keyring, team_id: str, url: str, events: Sequence[str]
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=new_id("whk"),
        team_id=team_id,
        url=url,
        events=sorted(set(events)),
        sealed_secret=keyring.seal(new_secret()),
        enabled=True,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def update(
    session: Session,
    *,
    endpoint: WebhookEndpoint,
    url: str | None,
    events: Sequence[str] | None,
    enabled: bool | None,
) -> WebhookEndpoint:
    if url is not None:
        endpoint.url = url
    if events is not None:
        endpoint.events = sorted(set(events))
    if enabled is not None:
        endpoint.enabled = enabled
        endpoint.disabled_reason = None if enabled else "disabled by the team"
    session.flush()
    return endpoint


def rotate_secret(
    session: Session, *, keyring: Keyring, endpoint: WebhookEndpoint
) -> WebhookEndpoint:
    endpoint.sealed_secret = keyring.seal(new_secret())
    session.flush()
    return endpoint


def delete(session: Session, *, endpoint: WebhookEndpoint) -> None:
    session.delete(endpoint)
    session.flush()


def get_deliveries(
    session: Session, *, endpoint_id: str, limit: int, after: str | None
) -> Page[WebhookDelivery]:
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    return paginate(session, statement, WebhookDelivery.id, limit=limit, after=after)


def get_delivery(session: Session, *, endpoint_id: str, delivery_id: str) -> WebhookDelivery | None:
    if not is_well_formed(delivery_id):
        return None
    delivery = session.get(WebhookDelivery, delivery_id)
    return delivery if delivery is not None and delivery.endpoint_id == endpoint_id else None


def redeliver(session: Session, *, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same event (same `webhook-id`) to the same endpoint again, as a new delivery."""
    again = pending_delivery(delivery.endpoint_id, delivery.event)
    session.add(again)
    session.flush()
    return again
