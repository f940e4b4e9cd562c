"""Send one claimed webhook delivery: sign it per Standard Webhooks, post it, record the answer."""

import json
import logging

import httpx
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app.core import outbound
from app.core.config import Settings
from app.core.db import new_session
from app.models import WebhookDelivery, WebhookEvent
from app.models.base import utcnow
from app.services import webhook_deliveries
from app.services.webhook_deliveries import RetryPolicy

logger = logging.getLogger(__name__)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        base_seconds=settings.webhook_retry_base_seconds,
        max_seconds=settings.webhook_retry_max_seconds,
    )


def hold_seconds(settings: Settings) -> float:
    """How long a claimed attempt may take before the delivery is due again."""
    return 2 * settings.webhook_timeout_seconds + 30


def body_of(event: WebhookEvent) -> str:
    document = {
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "sequence": event.id,
        "data": event.data,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    sent_at = utcnow()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
    }


def deliver(settings: Settings, delivery_id: str) -> None:
    with new_session(settings) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return
        if not delivery.endpoint.enabled:
            webhook_deliveries.record_abandoned(session, delivery=delivery)
            return
        _attempt(session, settings, delivery)


def deliver_due(settings: Settings, *, limit: int = 50) -> int:
    """Claim and send every due delivery in this process; the embedded default's sender."""
    with new_session(settings) as session:
        claimed = webhook_deliveries.claim_due(
            session, limit=limit, hold_seconds=hold_seconds(settings)
        )
    for delivery_id in claimed:
        deliver(settings, delivery_id)
    return len(claimed)


def _attempt(session: Session, settings: Settings, delivery: WebhookDelivery) -> None:
    endpoint, event = delivery.endpoint, delivery.event
    body = body_of(event)
    headers = signed_headers(endpoint.secret, f"evt_{event.id}", body)
    policy = retry_policy(settings)
    try:
        outbound.check_target(endpoint.url, settings.webhook_allowed_networks)
        answer = outbound.post(
            endpoint.url, body=body, headers=headers, timeout=settings.webhook_timeout_seconds
        )
    except (outbound.RefusedTarget, httpx.HTTPError) as error:
        message = str(error) or type(error).__name__
        logger.warning("webhook delivery %s to %s failed: %s", delivery.id, endpoint.url, message)
        webhook_deliveries.record_failure(
            session, delivery=delivery, policy=policy, status_code=None, error=message
        )
        return
    if 200 <= answer.status_code < 300:
        webhook_deliveries.record_delivered(
            session, delivery=delivery, status_code=answer.status_code
        )
    elif answer.status_code == 410:
        webhook_deliveries.record_gone(session, delivery=delivery)
    else:
        webhook_deliveries.record_failure(
            session,
            delivery=delivery,
            policy=policy,
            status_code=answer.status_code,
            error=f"the endpoint answered {answer.status_code}",
            retry_after=answer.retry_after,
        )
