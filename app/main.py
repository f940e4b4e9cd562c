from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.body_limit import BodySizeLimit
from app.api.errors import install_error_handlers
from app.api.router import api_router
from app.api.routes import health
from app.core.config import Settings, get_settings
from app.core.queue import create_celery
from app.core.storage import ArtifactStore
from app.serving.cache import ModelCache

MULTIPART_OVERHEAD_BYTES = 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = ArtifactStore(settings.artifact_root)
        app.state.store = store
        app.state.model_cache = ModelCache(
            store, settings.model_cache_size, settings.registered_base_models
        )
        app.state.celery = create_celery(settings) if settings.broker_url else None
        yield

    app = FastAPI(
        title="adaptd",
        version="0.1.0",
        summary="Adapt pre-trained language models into text classifiers and serve them.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, limit=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES)
    app.include_router(health.router)
    app.include_router(api_router)
    return app
