"""Delivery attempts: claim due deliveries, then record what each endpoint answered.

A claim is a token written on the row with a deadline (`next_attempt_at`). Only the sender
holding the current token may record an attempt, and a sender sends only while its claim has
time left for a whole attempt, so under any number of senders an event is sent once per claim."""

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.services.queries import rowcount

EXCERPT_CHARS = 1000


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


@dataclass(frozen=True)
class Claim:
    delivery_id: str
    endpoint_id: str
    token: str
    until: datetime


@dataclass(frozen=True)
class Outcome:
    """What one attempt saw: an answer (status code) or a network error."""

    status_code: int | None
    error: str | None = None
    retry_after: str | None = None
    excerpt: str | None = None


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


def claim_due(
    session: Session,
    *,
    limit: int,
    hold_seconds: float,
    per_endpoint: dict[str, int] | None = None,
    endpoint_limit: int,
) -> list[Claim]:
    """Take up to `limit` due deliveries, at most `endpoint_limit` per endpoint less what
    `per_endpoint` says this sender already has in flight there, oldest first within each
    endpoint, so one endpoint's backlog never fills a sender. Each claim holds its delivery for
    `hold_seconds`; after that the delivery is due again."""
    busy = per_endpoint or {}
    rank = (
        func.row_number()
        .over(
            partition_by=WebhookDelivery.endpoint_id,
            order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id),
        )
        .label("rank")
    )
    due = (
        select(
            WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.next_attempt_at, rank
        )
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow())
        .subquery()
    )
    candidates = session.execute(
        select(due.c.id, due.c.endpoint_id)
        .where(due.c.rank <= endpoint_limit)
        .order_by(due.c.rank, due.c.next_attempt_at)
    ).all()
    session.rollback()
    taken: dict[str, int] = dict(busy)
    claims: list[Claim] = []
    for delivery_id, endpoint_id in candidates:
        if len(claims) >= limit:
            break
        if taken.get(endpoint_id, 0) >= endpoint_limit:
            continue
        claimed = claim(session, delivery_id, endpoint_id, hold_seconds)
        if claimed is not None:
            claims.append(claimed)
            taken[endpoint_id] = taken.get(endpoint_id, 0) + 1
    return claims


def claim(
    session: Session, delivery_id: str, endpoint_id: str, hold_seconds: float
) -> Claim | None:
    now = utcnow()
    token = secrets.token_hex(8)
    until = now + timedelta(seconds=hold_seconds)
    claimed = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(claim_token=token, next_attempt_at=until)
    )
    session.commit()
    return Claim(delivery_id, endpoint_id, token, until) if rowcount(claimed) == 1 else None


def record(session: Session, *, claim: Claim, outcome: Outcome, policy: RetryPolicy) -> bool:
    """Count the attempt and write what came of it, if the claim is still ours. False: another
    sender holds the delivery now, and this attempt is not counted."""
    delivery = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == claim.delivery_id, WebhookDelivery.claim_token == claim.token)
        .with_for_update(of=WebhookDelivery)
    ).one_or_none()
    if delivery is None or delivery.status != "pending":
        session.rollback()
        return False
    delivery.attempts += 1
    delivery.claim_token = None
    delivery.last_status_code = outcome.status_code
    delivery.last_response = outcome.excerpt[:EXCERPT_CHARS] if outcome.excerpt else None
    code = outcome.status_code
    if code is not None and 200 <= code < 300:
        delivery.status = "delivered"
        delivery.last_error = None
        delivery.delivered_at = utcnow()
        delivery.next_attempt_at = None
    elif code == 410:
        _disable(session, delivery.endpoint_id, f"answered 410 Gone to delivery {delivery.id}")
        _give_up(delivery, "the endpoint answered 410 Gone and was disabled")
    else:
        error = outcome.error or f"the endpoint answered {code}"
        if delivery.attempts >= policy.max_attempts:
            _give_up(delivery, f"{error}; gave up after {delivery.attempts} attempts")
        else:
            delay = policy.delay(delivery.attempts, outcome.retry_after)
            delivery.last_error = error
            delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
    session.commit()
    return True


def abandon(session: Session, *, claim: Claim, reason: str) -> bool:
    """The endpoint is disabled: end the delivery without sending it."""
    ended = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claim.delivery_id,
            WebhookDelivery.claim_token == claim.token,
            WebhookDelivery.status == "pending",
        )
        .values(
            status="failed",
            claim_token=None,
            next_attempt_at=None,
            last_error=f"endpoint disabled: {reason}",
        )
    )
    session.commit()
    return rowcount(ended) == 1


def _disable(session: Session, endpoint_id: str, reason: str) -> None:
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(enabled=False, disabled_reason=reason)
    )


def _give_up(delivery: WebhookDelivery, error: str) -> None:
    delivery.status = "failed"
    delivery.last_error = error
    delivery.next_attempt_at = None
