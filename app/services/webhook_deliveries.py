"""Delivery attempts: claim a due delivery, then record what its endpoint answered."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import WebhookDelivery
from app.models.base import utcnow
from app.services.queries import rowcount


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, attempts: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter, never sooner than the endpoint's Retry-After."""
        ceiling = min(self.max_seconds, self.base_seconds * 2.0 ** (attempts - 1))
        backoff = ceiling / 2 + random.uniform(0, ceiling / 2)
        return min(self.max_seconds, max(backoff, retry_after_seconds(retry_after)))


def retry_after_seconds(value: str | None) -> float:
    if not value:
        return 0.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def claim_due(session: Session, *, limit: int, hold_seconds: float) -> list[str]:
    """Take up to `limit` due deliveries; each is held for `hold_seconds`, after which an
    attempt that never reported back is due again."""
    due = session.scalars(
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow())
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    ).all()
    return [delivery_id for delivery_id in due if claim(session, delivery_id, hold_seconds)]


def claim(session: Session, delivery_id: str, hold_seconds: float) -> bool:
    now = utcnow()
    claimed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=now + timedelta(seconds=hold_seconds),
        )
    )
    session.commit()
    return rowcount(claimed) == 1


def record_delivered(session: Session, *, delivery: WebhookDelivery, status_code: int) -> None:
    delivery.status = "delivered"
    delivery.last_status_code = status_code
    delivery.last_error = None
    delivery.delivered_at = utcnow()
    delivery.next_attempt_at = None
    session.commit()


def record_gone(session: Session, *, delivery: WebhookDelivery) -> None:
    """410 Gone: the endpoint asked never to be called again."""
    endpoint = delivery.endpoint
    endpoint.enabled = False
    endpoint.disabled_reason = f"answered 410 Gone to delivery {delivery.id}"
    _give_up(delivery, 410, "the endpoint answered 410 Gone and was disabled")
    session.commit()


def record_failure(
    session: Session,
    *,
    delivery: WebhookDelivery,
    policy: RetryPolicy,
    status_code: int | None,
    error: str,
    retry_after: str | None = None,
) -> None:
    if delivery.attempts >= policy.max_attempts:
        _give_up(delivery, status_code, f"{error}; gave up after {delivery.attempts} attempts")
    else:
        delay = policy.delay(delivery.attempts, retry_after)
        delivery.last_status_code = status_code
        delivery.last_error = error
        delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
    session.commit()


def record_abandoned(session: Session, *, delivery: WebhookDelivery) -> None:
    _give_up(delivery, None, f"endpoint disabled: {delivery.endpoint.disabled_reason}")
    session.commit()


def _give_up(delivery: WebhookDelivery, status_code: int | None, error: str) -> None:
    delivery.status = "failed"
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.next_attempt_at = None
