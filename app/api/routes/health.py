from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.api.deps import SessionDep, StoreDep

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, session: SessionDep, store: StoreDep) -> JSONResponse:
    """The database, the artifact store and (when configured) the broker all answer."""
    checks: dict[str, Any] = {}
    checks["database"] = _check(lambda: session.execute(text("SELECT 1")))
    checks["artifact_store"] = _check(store.is_writable)
    celery = request.app.state.celery
    if celery is not None:
        checks["broker"] = _check(
            lambda: celery.connection_for_write().ensure_connection(max_retries=1)
        )
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
    )


def _check(probe: Any) -> str:
    try:
        probe()
    except Exception as error:
        return f"error: {type(error).__name__}: {error}"
    return "ok"


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency per route, batch sizes, queue depth, the model
    cache, and jobs by state."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
