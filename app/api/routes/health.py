import logging
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from app.api.deps import SessionDep, StoreDep

router = APIRouter(tags=["operations"])
logger = logging.getLogger(__name__)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, session: SessionDep, store: StoreDep) -> JSONResponse:
    """The database, the artifact store, the broker (when configured) and the background
    loops this process looks after (the embedded job runner and webhook sender), each by
    name and state: `ok`, or `unavailable`, `failing`, `stale` (stopped going round) or
    `down`. Why a component is not ready goes to the log, not to the answer."""
    checks: dict[str, str] = {}
    checks["database"] = _check("database", lambda: session.execute(text("SELECT 1")))
    checks["artifact_store"] = _check("artifact store", store.is_writable)
    celery = request.app.state.celery
    if celery is not None:
        checks["broker"] = _check(
            "broker", lambda: celery.connection_for_write().ensure_connection(max_retries=1)
        )
    components = request.app.state.components
    if components is not None:
        checks.update(components())
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
    )


def _check(name: str, probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception:
        logger.warning("readiness: the %s does not answer", name, exc_info=True)
        return "unavailable"
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
