"""Counts and times every HTTP request by its route template (`/v1/models/{model_id}/predict`,
never the raw path, so ids do not multiply the series)."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.serving.metrics import ServingMetrics

UNMATCHED_ROUTE = "unmatched"


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: ServingMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's path with each parameter's value put back as `{name}`."""
    if scope.get("route") is None:
        return UNMATCHED_ROUTE
    names = {str(value): name for name, value in scope.get("path_params", {}).items()}
    segments = str(scope["path"]).split("/")
    return "/".join(
        f"{{{names[segment]}}}" if segment in names else segment for segment in segments
    )
