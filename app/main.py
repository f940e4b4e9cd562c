import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from app.api.audit_trail import AuditTrail
from app.api.body_limit import BodySizeLimit
from app.api.deps import warm_up_lookups
from app.api.errors import install_error_handlers
from app.api.event_stream import StreamSlots
from app.api.operations_guard import OperationsGuard
from app.api.rate_limits import KeyRates
from app.api.router import api_router
from app.api.routes import health
from app.core.config import Settings, get_settings
from app.core.db import new_session
from app.core.queue import create_celery
from app.core.storage import open_store
from app.ml.device import plan_device
from app.ml.predictor import PassLimits
from app.services import jobs, retention
from app.serving.admission import TeamAdmission
from app.serving.batcher import Batcher
from app.serving.cache import ModelCache
from app.serving.http_metrics import RequestMetrics
from app.serving.lookups import LookupCache
from app.serving.metrics import ServingMetrics
from app.serving.serving import Serving
from app.serving.threads import batch_settings, inference_thread, use_torch_threads
from app.ui import mount_dashboard

MULTIPART_OVERHEAD_BYTES = 64 * 1024
logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, components: Callable[[], Mapping[str, str]] | None = None
) -> FastAPI:
    """The API. `components` reports the states of background processes this one looks after
    (the embedded runner's loops), for /readyz."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings)
        device = plan_device(settings.serve_device)
        app.state.store = store
        model_cache = ModelCache(
            store,
            settings.model_cache_size,
            settings.registered_base_models,
            max_bytes=settings.model_cache_max_bytes,
            metrics=metrics,
            device=device,
            limits=PassLimits.for_device(
                device, settings.predict_pass_max_texts, settings.predict_pass_max_tokens
            ),
        )
        use_torch_threads(settings.torch_threads)
        model_cache.warm_up()
        warm_up_lookups(settings)
        app.state.lookups = LookupCache(settings.predict_lookup_ttl_seconds)
        with inference_thread() as executor:
            batcher = Batcher(batch_settings(settings), executor, metrics)
            app.state.serving = Serving(settings, model_cache, batcher, TeamAdmission())
            app.state.celery = create_celery(settings) if settings.broker_url else None
            yield

    app = FastAPI(
        title="adaptd",
        version="0.1.0",
        summary="Adapt pre-trained language models into text classifiers and serve them.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.components = components
    app.state.stream_slots = StreamSlots(settings.event_stream_max_per_key)
    app.state.key_rates = KeyRates(settings.rate_limit_storage_url)
    metrics = ServingMetrics()
    metrics.watch_jobs(lambda: _count_jobs(settings))
    metrics.watch_retention(lambda: _retention_tallies(settings))
    app.state.metrics = metrics
    install_error_handlers(app)
    app.add_middleware(AuditTrail, settings=settings)
    app.add_middleware(BodySizeLimit, limit=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES)
    app.add_middleware(RequestMetrics, metrics=metrics)
    if settings.operations_token is not None:
        app.add_middleware(OperationsGuard, token=settings.operations_token.get_secret_value())
    app.include_router(api_router)
    app.include_router(health.router)
    mount_dashboard(app)
    return app


def _count_jobs(settings: Settings) -> dict[str, int]:
    """Jobs by state; nothing when the database does not answer, so that the serving
    metrics are still scraped."""
    try:
        with new_session(settings) as session:
            return jobs.count_by_status(session)
    except SQLAlchemyError:
        logger.warning("jobs by state left out of /metrics: the database did not answer")
        return {}


def _retention_tallies(settings: Settings) -> dict[str, int]:
    try:
        with new_session(settings) as session:
            return retention.tallies(session)
    except SQLAlchemyError:
        logger.warning("retention tallies left out of /metrics: the database did not answer")
        return {}
