"""A real local HTTP receiver for outbound webhooks: verifies each request's signature with the
`standardwebhooks` library and answers from a script of statuses."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    verified: dict[str, Any] | None


@dataclass
class Receiver:
    url: str
    secret: str | None = None
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    def answer_next(self, status: int, **headers: str) -> None:
        self.script.append((status, headers))

    @property
    def events(self) -> list[dict[str, Any]]:
        return [r.verified for r in self.requests if r.verified is not None]

    @property
    def events_by_sequence(self) -> list[dict[str, Any]]:
        """Verified events in the order they happened: a sender sends concurrently, so they
        may arrive in another."""
        return sorted(self.events, key=lambda event: int(event["sequence"]))

    def handle(self, headers: dict[str, str], body: str) -> tuple[int, dict[str, str]]:
        verified = None
        if self.secret is not None:
            try:
                verified = Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError:
                verified = None
        self.requests.append(Received(headers, body, verified))
        return self.script.pop(0) if self.script else (200, {})


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            status, headers = receiver.handle(dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.request_queue_size = 256
    server.server_bind()
    server.server_activate()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def parsed(received: Received) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(received.body)
    return document
