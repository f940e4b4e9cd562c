"""The webhook sender: claims due deliveries and sends them concurrently, at most a few at a
time per endpoint, each attempt under one deadline, so that a slow or silent endpoint holds up
only its own deliveries. Any number of senders may run; claims keep them from sending twice."""

import asyncio
import functools
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook

from app.core import outbound
from app.core.config import Settings
from app.core.db import new_session
from app.core.sealing import keyring_of
from app.models import WebhookDelivery, WebhookEvent
from app.models.base import utcnow
from app.services import webhook_deliveries
from app.services.webhook_deliveries import Claim, Outcome, RetryPolicy

logger = logging.getLogger(__name__)
SEND_MARGIN_SECONDS = 1.0


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        base_seconds=settings.webhook_retry_base_seconds,
        max_seconds=settings.webhook_retry_max_seconds,
    )


def hold_seconds(settings: Settings) -> float:
    """How long a claim holds a delivery: one whole attempt and room to record it."""
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


def redacted(url: str) -> str:
    """A URL fit for logs: scheme and host, no path or query (they often carry tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


@dataclass(frozen=True)
class Request:
    """One attempt ready to send: what to send, signed, and where."""

    url: str
    body: str
    headers: dict[str, str]
    disabled_reason: str | None


def deliver_due(settings: Settings) -> int:
    """One pass: claim what is due (within the concurrency limits), send it all, record it."""
    return asyncio.run(Sender(settings).drain_once())


def run_sender(
    settings: Settings,
    stopping: threading.Event,
    on_pass: Callable[[bool], None] = lambda _ok: None,
) -> None:
    """Send deliveries as they fall due until `stopping` is set; `on_pass` hears whether each
    look for due deliveries went through."""
    asyncio.run(Sender(settings).run(stopping, on_pass))


def start_sender_thread(settings: Settings, stopping: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=run_sender, args=(settings, stopping), name="adaptd-webhooks", daemon=True
    )
    thread.start()
    return thread


class Sender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.keyring = keyring_of(settings)
        self.deadline = settings.webhook_timeout_seconds
        self.policy = retry_policy(settings)
        self.in_flight: Counter[str] = Counter()
        self.tasks: set[asyncio.Task[None]] = set()

    async def drain_once(self) -> int:
        async with outbound.client(deadline=self.deadline) as client:
            started = await self._start_due(client)
            if self.tasks:
                await asyncio.wait(self.tasks)
        return started

    async def run(self, stopping: threading.Event, on_pass: Callable[[bool], None]) -> None:
        poll = self.settings.webhook_poll_seconds
        async with outbound.client(deadline=self.deadline) as client:
            while not stopping.is_set():
                try:
                    await self._start_due(client)
                    on_pass(True)
                except Exception:
                    on_pass(False)
                    logger.exception("claiming webhook deliveries failed; trying again")
                if self.tasks:
                    await asyncio.wait(self.tasks, timeout=poll, return_when="FIRST_COMPLETED")
                else:
                    await asyncio.sleep(poll)
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=self.deadline + SEND_MARGIN_SECONDS)

    async def _start_due(self, client: httpx.AsyncClient) -> int:
        free = self.settings.webhook_concurrency - len(self.tasks)
        if free <= 0:
            return 0
        claims = await asyncio.to_thread(self._claim, free, dict(self.in_flight))
        for claim in claims:
            self.in_flight[claim.endpoint_id] += 1
            task = asyncio.create_task(self._deliver(client, claim))
            self.tasks.add(task)
            task.add_done_callback(functools.partial(self._finished, claim=claim))
        return len(claims)

    def _finished(self, task: asyncio.Task[None], claim: Claim) -> None:
        self.tasks.discard(task)
        self.in_flight[claim.endpoint_id] -= 1
        if not task.cancelled() and task.exception() is not None:
            logger.error("webhook delivery %s failed", claim.delivery_id, exc_info=task.exception())

    def _claim(self, limit: int, in_flight: dict[str, int]) -> list[Claim]:
        with new_session(self.settings) as session:
            return webhook_deliveries.claim_due(
                session,
                limit=limit,
                hold_seconds=hold_seconds(self.settings),
                per_endpoint=in_flight,
                endpoint_limit=self.settings.webhook_endpoint_concurrency,
            )

    async def _deliver(self, client: httpx.AsyncClient, claim: Claim) -> None:
        request = await asyncio.to_thread(self._prepare, claim)
        if request is None:
            return
        if request.disabled_reason is not None:
            await asyncio.to_thread(self._abandon, claim, request.disabled_reason)
            return
        if (claim.until - utcnow()).total_seconds() < self.deadline + SEND_MARGIN_SECONDS:
            logger.info("webhook delivery %s: claim ran out before sending", claim.delivery_id)
            return
        outcome = await self._send(client, request)
        if outcome.status_code is None or outcome.status_code >= 300:
            logger.warning(
                "webhook delivery %s to %s failed: %s",
                claim.delivery_id,
                redacted(request.url),
                outcome.error or outcome.status_code,
            )
        recorded = await asyncio.to_thread(self._record, claim, outcome)
        if not recorded:
            logger.warning("webhook delivery %s: claim lost before recording", claim.delivery_id)

    async def _send(self, client: httpx.AsyncClient, request: Request) -> Outcome:
        try:
            target = await asyncio.to_thread(
                outbound.check_target, request.url, self.settings.webhook_allowed_networks
            )
            answer = await outbound.post(
                client,
                target,
                body=request.body,
                headers=request.headers,
                deadline=self.deadline,
                max_answer_bytes=self.settings.webhook_answer_max_bytes,
            )
        except (outbound.RefusedTarget, outbound.DeadlineExceeded) as error:
            return Outcome(None, str(error))
        except httpx.HTTPError as error:
            return Outcome(None, str(error) or type(error).__name__)
        return Outcome(answer.status_code, None, answer.retry_after, answer.excerpt)

    def _prepare(self, claim: Claim) -> Request | None:
        with new_session(self.settings) as session:
            delivery = session.get(WebhookDelivery, claim.delivery_id)
            if delivery is None or delivery.claim_token != claim.token:
                return None
            endpoint, event = delivery.endpoint, delivery.event
            body = body_of(event)
            return Request(
                url=endpoint.url,
                body=body,
                headers=signed_headers(
                    self.keyring.open(endpoint.sealed_secret), f"evt_{event.id}", body
                ),
                disabled_reason=None if endpoint.enabled else endpoint.disabled_reason or "",
            )

    def _record(self, claim: Claim, outcome: Outcome) -> bool:
        with new_session(self.settings) as session:
            return webhook_deliveries.record(
                session, claim=claim, outcome=outcome, policy=self.policy
            )

    def _abandon(self, claim: Claim, reason: str) -> None:
        with new_session(self.settings) as session:
            webhook_deliveries.abandon(session, claim=claim, reason=reason)
