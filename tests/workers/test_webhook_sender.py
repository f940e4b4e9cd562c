"""The webhook sender against real receivers: several senders never send an event twice, a
slow or huge answer holds up nobody else, and claims that ran out are not counted."""

import multiprocessing
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from ipaddress import ip_network

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import new_session
from app.core.ids import new_id
from app.models import WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.services import webhook_deliveries
from app.services.webhook_deliveries import Outcome
from app.services.webhook_events import emit
from tests.factories import make_team
from tests.webhook_receiver import webhook_receiver
from workers.webhooks import deliver_due, retry_policy, run_sender

LOOPBACK = [ip_network("127.0.0.1/32")]


@pytest.fixture
def sender_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allowed_networks": LOOPBACK,
            "webhook_retry_base_seconds": 0.0,
            "webhook_timeout_seconds": 2.0,
            "webhook_poll_seconds": 0.05,
        }
    )


def subscribe(
    session: Session, team_id: str, url: str, secret: str = "whsec_dGVzdHNlY3JldA=="
) -> str:
    """Stored as secrets were before they were sealed (plaintext), which senders still open."""
    endpoint = WebhookEndpoint(
        id=new_id("whk"), team_id=team_id, url=url, events=["job.queued"], sealed_secret=secret
    )
    session.add(endpoint)
    session.commit()
    return endpoint.id


def announce(session: Session, team_id: str, count: int) -> None:
    for number in range(count):
        emit(session, team_id=team_id, type_="job.queued", data={"job_id": f"job_{number}"})
    session.commit()


def delivery_of(settings: Settings, endpoint_id: str) -> list[WebhookDelivery]:
    with new_session(settings) as session:
        return list(
            session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            )
        )


def _sender_process(settings: Settings, stop: "multiprocessing.synchronize.Event") -> None:
    stopping = threading.Event()

    def relay() -> None:
        stop.wait()
        stopping.set()

    threading.Thread(target=relay, daemon=True).start()
    run_sender(settings, stopping)


@pytest.mark.e2e
def test_three_senders_deliver_a_backlog_of_thousands_once_each(
    postgres_settings: Settings,
) -> None:
    settings = postgres_settings.model_copy(
        update={"webhook_allowed_networks": LOOPBACK, "webhook_poll_seconds": 0.05}
    )
    with new_session(settings) as writer:
        teams = [make_team(writer, "one"), make_team(writer, "two")]
    with webhook_receiver() as first, webhook_receiver() as second, webhook_receiver() as third:
        receivers = [first, second, third]
        with new_session(settings) as writer:
            endpoints = [
                subscribe(writer, teams[0].team_id, first.url),
                subscribe(writer, teams[0].team_id, second.url),
                subscribe(writer, teams[1].team_id, third.url),
            ]
            announce(writer, teams[0].team_id, 350)
            announce(writer, teams[1].team_id, 350)
        context = multiprocessing.get_context("spawn")
        stop = context.Event()
        senders = [context.Process(target=_sender_process, args=(settings, stop)) for _ in range(3)]
        for sender in senders:
            sender.start()
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and _pending(settings) > 0:
                time.sleep(0.5)
        finally:
            stop.set()
            for sender in senders:
                sender.join(30)
        sent = [
            Counter(r.headers["webhook-id"] for r in receiver.requests) for receiver in receivers
        ]

    assert _pending(settings) == 0
    assert [len(counts) for counts in sent] == [350, 350, 350]
    assert all(set(counts.values()) == {1} for counts in sent), "an event was sent twice"
    for endpoint_id in endpoints:
        rows = delivery_of(settings, endpoint_id)
        assert {(row.status, row.attempts) for row in rows} == {("delivered", 1)}


def _pending(settings: Settings) -> int:
    with new_session(settings) as session:
        return int(
            session.scalar(select(func.count()).where(WebhookDelivery.status == "pending")) or 0
        )


@contextmanager
def raw_receiver(serve: Callable[[socket.socket], None]) -> Iterator[str]:
    """A bare TCP server that answers each connection with `serve`: for answers no HTTP
    server library would give."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer(connection: socket.socket) -> None:
        with connection, suppress(OSError):
            connection.recv(65536)
            serve(connection)

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"
    finally:
        listener.close()


def dripping(byte_every: float) -> Callable[[socket.socket], None]:
    """200 at once, then the body one byte every `byte_every` seconds."""

    def serve(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        for _ in range(1000):
            time.sleep(byte_every)
            connection.sendall(b"x")

    return serve


def huge(size: int) -> Callable[[socket.socket], None]:
    def serve(connection: socket.socket) -> None:
        header = f"HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n".encode()
        connection.sendall(header + b"{" + b"a" * (size - 1))

    return serve


def test_a_dripping_receiver_is_cut_at_the_deadline_and_holds_up_nobody_else(
    sender_settings: Settings, session: Session
) -> None:
    slow_team, other_team = make_team(session, "slow"), make_team(session, "other")
    with raw_receiver(dripping(byte_every=0.5)) as slow_url, webhook_receiver() as fast:
        slow = subscribe(session, slow_team.team_id, slow_url)
        quick = subscribe(session, other_team.team_id, fast.url)
        announce(session, slow_team.team_id, 6)
        announce(session, other_team.team_id, 1)
        deliver_due(sender_settings)

    [fast_row] = delivery_of(sender_settings, quick)
    slow_rows = delivery_of(sender_settings, slow)
    attempted = [row for row in slow_rows if row.attempts == 1]
    assert len(fast.requests) == 1
    assert fast_row.status == "delivered"
    assert fast_row.delivered_at is not None
    assert len(slow_rows) == 6
    assert len(attempted) == sender_settings.webhook_endpoint_concurrency
    assert all(row.status == "pending" for row in slow_rows)
    assert all("no complete answer within 2 s" in (row.last_error or "") for row in attempted)
    cut_at = [row.next_attempt_at for row in attempted]  # retried at once: when it was cut
    assert all(moment is not None and fast_row.delivered_at < moment for moment in cut_at)


def test_a_huge_answer_is_read_only_up_to_the_cap(
    sender_settings: Settings, session: Session
) -> None:
    team = make_team(session, "big")
    with raw_receiver(huge(50 * 1024 * 1024)) as url:
        endpoint = subscribe(session, team.team_id, url)
        announce(session, team.team_id, 1)
        deliver_due(sender_settings)

    [row] = delivery_of(sender_settings, endpoint)
    assert row.status == "delivered"
    assert row.last_response is not None
    assert len(row.last_response) == 1000
    assert row.last_response.startswith("{aaa")


def test_only_the_current_claim_counts_an_attempt(
    sender_settings: Settings, session: Session
) -> None:
    team = make_team(session, "claims")
    endpoint = subscribe(session, team.team_id, "https://example.com/hooks")
    announce(session, team.team_id, 1)
    [first] = webhook_deliveries.claim_due(session, limit=10, hold_seconds=60, endpoint_limit=4)
    assert webhook_deliveries.claim_due(session, limit=10, hold_seconds=60, endpoint_limit=4) == []
    session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    [second] = webhook_deliveries.claim_due(session, limit=10, hold_seconds=60, endpoint_limit=4)
    policy = retry_policy(sender_settings)

    late = webhook_deliveries.record(session, claim=first, outcome=Outcome(200), policy=policy)
    current = webhook_deliveries.record(session, claim=second, outcome=Outcome(200), policy=policy)

    [row] = delivery_of(sender_settings, endpoint)
    assert (late, current) == (False, True)
    assert (row.status, row.attempts, row.claim_token) == ("delivered", 1, None)


def test_a_claim_without_time_left_for_a_whole_attempt_is_not_sent(
    sender_settings: Settings, session: Session
) -> None:
    team = make_team(session, "short")
    with webhook_receiver() as receiver:
        endpoint = subscribe(session, team.team_id, receiver.url)
        announce(session, team.team_id, 1)
        short_hold = sender_settings.model_copy(update={"webhook_timeout_seconds": 40.0})
        [claim] = webhook_deliveries.claim_due(session, limit=1, hold_seconds=5, endpoint_limit=1)
        session.execute(
            update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
        deliver_due(short_hold)

    [row] = delivery_of(sender_settings, endpoint)
    assert claim.token != row.claim_token
    assert len(receiver.requests) == 1, "sent once, by the sender that claimed it in time"
    assert (row.status, row.attempts) == ("delivered", 1)


def test_one_endpoints_backlog_leaves_room_for_the_others(
    sender_settings: Settings, session: Session
) -> None:
    busy_team, quiet_team = make_team(session, "busy"), make_team(session, "quiet")
    busy = subscribe(session, busy_team.team_id, "https://busy.example/hooks")
    quiet = subscribe(session, quiet_team.team_id, "https://quiet.example/hooks")
    announce(session, busy_team.team_id, 200)
    announce(session, quiet_team.team_id, 3)

    claims = webhook_deliveries.claim_due(
        session, limit=10, hold_seconds=60, endpoint_limit=4, per_endpoint={busy: 1}
    )

    assert Counter(claim.endpoint_id for claim in claims) == {busy: 3, quiet: 3}
