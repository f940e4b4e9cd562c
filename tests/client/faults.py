"""Transports that put a fault between the SDK and a real app: an answer lost after the work
was done, or an overloaded server."""

from collections.abc import Callable, Iterator

import httpx
from fastapi.testclient import TestClient

Matcher = Callable[[httpx.Request], bool]


def posts_to(path: str) -> Matcher:
    return lambda request: request.method == "POST" and request.url.path == path


def forward(app: TestClient, request: httpx.Request) -> httpx.Response:
    answer = app.request(
        request.method, str(request.url), headers=dict(request.headers), content=request.read()
    )
    return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


class LosesFirstAnswer(httpx.BaseTransport):
    """Hands the request to the app, then breaks the connection instead of answering: the
    work is done, the client never hears of it. Only the first matching request."""

    def __init__(self, app: TestClient, matches: Matcher) -> None:
        self.app = app
        self.matches = matches
        self.dropped: list[httpx.Request] = []
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        response = forward(self.app, request)
        if self.matches(request) and not self.dropped:
            self.dropped.append(request)
            raise httpx.RemoteProtocolError("server disconnected without sending a response")
        return response


class OverloadedFirst(httpx.BaseTransport):
    """Answers the first `times` requests 503 with `Retry-After`, as an overloaded server does,
    then passes requests to the app."""

    def __init__(self, app: TestClient, times: int, retry_after: str) -> None:
        self.app = app
        self.remaining = times
        self.retry_after = retry_after
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.remaining > 0:
            self.remaining -= 1
            return httpx.Response(
                503,
                headers={
                    "Retry-After": self.retry_after,
                    "content-type": "application/problem+json",
                },
                json={"type": "/problems/overloaded", "title": "Overloaded", "detail": "busy"},
            )
        return forward(self.app, request)


class Unreachable(httpx.BaseTransport):
    def __init__(self) -> None:
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        raise httpx.ConnectError("connection refused", request=request)


class BreaksFirstStream(httpx.BaseTransport):
    """Cuts the first event stream after `events` logged events, as a dropped connection
    does; every other request goes to the app as it is."""

    def __init__(self, app: TestClient, events: int) -> None:
        self.app = app
        self.events = events
        self.streams: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = forward(self.app, request)
        if not request.url.path.endswith("/events/stream"):
            return answer
        self.streams.append(request)
        if len(self.streams) > 1:
            return answer
        messages = answer.content.split(b"\n\n")
        logged = [i for i, message in enumerate(messages) if message.startswith(b"id: ")]
        cut = b"\n\n".join(messages[: logged[self.events - 1] + 1]) + b"\n\n"
        return httpx.Response(answer.status_code, headers=answer.headers, stream=_Cut(cut))


class _Cut(httpx.SyncByteStream):
    def __init__(self, content: bytes) -> None:
        self.content = content

    def __iter__(self) -> Iterator[bytes]:
        yield self.content
        raise httpx.ReadError("connection reset by peer")
