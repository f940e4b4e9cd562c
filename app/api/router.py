from fastapi import APIRouter

from app.api.routes import (
    aliases,
    audit,
    datasets,
    jobs,
    keys,
    models,
    predictions,
    quotas,
    strategies,
    teams,
    triggers,
    webhooks,
)

api_router = APIRouter(prefix="/v1")
api_router.include_router(predictions.router)  # first: routes are matched in order
api_router.include_router(teams.router)
api_router.include_router(datasets.router)
api_router.include_router(jobs.router)
api_router.include_router(models.router)
api_router.include_router(aliases.router)
api_router.include_router(webhooks.router)
api_router.include_router(triggers.router)
api_router.include_router(strategies.router)
api_router.include_router(quotas.router)
api_router.include_router(keys.router)
api_router.include_router(audit.router)
