import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.audit_trail import act_as
from app.api.rate_limits import KeyRates
from app.core.config import Settings
from app.core.db import new_session
from app.core.problems import Forbidden, NotFound, Unauthorized
from app.core.sealing import Keyring, keyring_of
from app.core.security import hash_api_key, tokens_equal
from app.core.storage import ArtifactStore
from app.ml.runtime import Backend
from app.models import ApiKey, Dataset, Job, Model, Team
from app.schemas.alias import ALIAS_NAME_PATTERN
from app.services import aliases, datasets, jobs, models, quotas, teams
from app.services.audit import OPERATOR, Actor
from app.services.quotas import Quota
from app.serving.cache import ModelCache
from app.serving.lookups import LookupCache
from app.serving.serving import Serving

logger = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer adk_...`")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    with new_session(settings) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_keyring(settings: SettingsDep) -> Keyring:
    return keyring_of(settings)


KeyringDep = Annotated[Keyring, Depends(get_keyring)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def get_store(request: Request) -> ArtifactStore:
    store: ArtifactStore = request.app.state.store
    return store


async def get_serving(request: Request) -> Serving:
    serving: Serving = request.app.state.serving
    return serving


ServingDep = Annotated[Serving, Depends(get_serving)]


async def get_model_cache(serving: ServingDep) -> ModelCache:
    return serving.model_cache


StoreDep = Annotated[ArtifactStore, Depends(get_store)]
ModelCacheDep = Annotated[ModelCache, Depends(get_model_cache)]


@dataclass(frozen=True)
class Caller:
    """Who is calling, with the team's limits that each request is held to."""

    key_id: str
    team_id: str
    requests_per_minute: int
    predict_texts_in_flight: int


def authenticated(session: Session, credentials: HTTPAuthorizationCredentials | None) -> ApiKey:
    if credentials is None:
        raise Unauthorized("missing API key; send 'Authorization: Bearer <api key>'")
    key = teams.authenticate(session, secret=credentials.credentials)
    if key is None:
        raise Unauthorized("invalid or revoked API key")
    return key


def caller_of(session: Session, settings: Settings, key: ApiKey) -> Caller:
    team = session.get_one(Team, key.team_id)
    return Caller(
        key.id,
        key.team_id,
        quotas.limit_of(settings, team.quotas, Quota.requests_per_minute),
        quotas.limit_of(settings, team.quotas, Quota.predict_texts_in_flight),
    )


def get_api_key(
    request: Request, session: SessionDep, settings: SettingsDep, credentials: Credentials
) -> ApiKey:
    """The caller's key, counted against its requests per minute."""
    key = authenticated(session, credentials)
    caller = caller_of(session, settings, key)
    _key_rates(request).hit(caller.key_id, caller.requests_per_minute)
    act_as(request, Actor(key.id, key.team_id))
    return key


def _key_rates(request: Request) -> KeyRates:
    rates: KeyRates = request.app.state.key_rates
    return rates


def authorize(key: ApiKey, scope: str) -> ApiKey:
    if scope not in key.scopes:
        raise Forbidden(f"this API key lacks the {scope!r} scope")
    return key


def requires(scope: str) -> Callable[[ApiKey], ApiKey]:
    def check(key: Annotated[ApiKey, Depends(get_api_key)]) -> ApiKey:
        return authorize(key, scope)

    return check


ReadKey = Annotated[ApiKey, Depends(requires("read"))]
WriteKey = Annotated[ApiKey, Depends(requires("write"))]
AdminKey = Annotated[ApiKey, Depends(requires("admin"))]
"""Team administration: the team's keys, where its events are sent (webhooks), its audit log."""


def require_admin_token(request: Request, settings: SettingsDep, credentials: Credentials) -> None:
    expected = settings.admin_token
    if expected is None:
        raise Forbidden("team administration is off; set ADAPTD_ADMIN_TOKEN to enable it")
    if credentials is None or not tokens_equal(
        credentials.credentials, expected.get_secret_value()
    ):
        raise Unauthorized("this route needs the admin token (ADAPTD_ADMIN_TOKEN)")
    act_as(request, Actor(OPERATOR, None))


AdminDep = Depends(require_admin_token)


def get_dataset(dataset_id: str, session: SessionDep, key: ReadKey) -> Dataset:
    dataset = datasets.get(session, team_id=key.team_id, dataset_id=dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} not found")
    return dataset


def get_job(job_id: str, session: SessionDep, key: ReadKey) -> Job:
    job = jobs.get(session, team_id=key.team_id, job_id=job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


def get_model(model_id: str, session: SessionDep, key: ReadKey) -> Model:
    model = models.get(session, team_id=key.team_id, model_id=model_id)
    if model is None:
        raise NotFound(f"model {model_id} not found")
    return model


def model_or_alias(session: Session, *, team_id: str, model_id: str) -> Model:
    """A model by its id, or by the name of an alias that points at it."""
    model = models.get(session, team_id=team_id, model_id=model_id)
    if model is None and re.fullmatch(ALIAS_NAME_PATTERN, model_id):
        alias = aliases.get_by_name(session, team_id=team_id, name=model_id)
        model = session.get(Model, alias.model_id) if alias else None
    if model is None:
        raise NotFound(f"model or alias {model_id} not found")
    return model


@dataclass(frozen=True)
class ServedModel:
    caller: Caller
    id: str
    artifact_key: str
    labels: list[str]
    multi_label: bool
    backend: Backend
    abstain_threshold: float | None


async def get_served_model(
    model_id: str, request: Request, serving: ServingDep, credentials: Credentials
) -> ServedModel:
    """The model to predict with, by id or alias. A recent answer for the same key and name
    is reused (see `LookupCache`); otherwise it is looked up on a worker thread in a session
    of its own, closed before the request waits for its batch."""
    lookups: LookupCache[ServedModel] = request.app.state.lookups
    cache_key = (hash_api_key(credentials.credentials) if credentials else None, model_id)
    look_up = partial(_look_up_served_model, model_id, serving.settings, credentials)
    served = await lookups.get_or_look_up(cache_key, look_up)
    rates = _key_rates(request)
    count = partial(rates.hit, served.caller.key_id, served.caller.requests_per_minute)
    if rates.in_process:
        count()
    else:
        await run_in_threadpool(count)
    return served


def _look_up_served_model(
    model_id: str, settings: Settings, credentials: HTTPAuthorizationCredentials | None
) -> ServedModel:
    with new_session(settings) as session:
        key = authorize(authenticated(session, credentials), "read")
        model = model_or_alias(session, team_id=key.team_id, model_id=model_id)
        return ServedModel(
            caller_of(session, settings, key),
            model.id,
            model.artifact_key,
            list(model.labels),
            model.multi_label,
            backend=served_backend(model),
            abstain_threshold=model.abstain_threshold,
        )


def warm_up_lookups(settings: Settings) -> None:
    """Run each query of a model lookup once (with names that match nothing), so that the
    process's first predict request does not pay for opening the first connection and
    compiling them. A database that does not answer yet is logged: requests will say so."""
    try:
        with new_session(settings) as session:
            teams.authenticate(session, secret="")
            aliases.get_by_name(session, team_id="", name="")
            session.get(Model, "")
            session.get(Team, "")
    except SQLAlchemyError as error:
        logger.warning("could not warm up the model lookups: %s", error)


def served_backend(model: Model) -> Backend:
    """torch as trained, or the backend its acceleration chose."""
    return Backend(model.acceleration["method"]) if model.acceleration else Backend.torch


DatasetDep = Annotated[Dataset, Depends(get_dataset)]
JobDep = Annotated[Job, Depends(get_job)]
ModelDep = Annotated[Model, Depends(get_model)]
ServedModelDep = Annotated[ServedModel, Depends(get_served_model)]

LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size.")]
AfterQuery = Annotated[
    str | None,
    Query(
        max_length=60,
        pattern=r"^[a-z]{1,8}_[0-9a-z]{1,40}$",
        description="The last id of the previous page.",
    ),
]
