from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from app.api.audit_trail import act_as
from app.api.deps import (
    AfterQuery,
    KeyringDep,
    LimitQuery,
    ReadKey,
    SessionDep,
    SettingsDep,
    WriteKey,
)
from app.api.errors import validation_errors
from app.api.idempotency import IdempotencyKey, run_once
from app.core.ids import is_well_formed
from app.core.problems import NotFound, ValidationFailed
from app.core.queue import publish_training
from app.core.sealing import Keyring
from app.models import Trigger, TriggerRun
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.dataset import ExampleIn
from app.schemas.trigger import (
    Gate,
    TriggerCreate,
    TriggerFireBody,
    TriggerFired,
    TriggerPublic,
    TriggerRunPublic,
    TriggerRunsPublic,
    TriggersPublic,
    TriggerWithSecret,
)
from app.services import dispatch, quotas, retrains, triggers
from app.services.audit import Actor
from app.services.idempotency import fingerprint
from app.services.quotas import Quota

router = APIRouter(prefix="/triggers", tags=["triggers"], responses=PROBLEM_RESPONSES)


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def get_trigger(trigger_id: str, session: SessionDep, key: ReadKey) -> Trigger:
    trigger = triggers.get(session, team_id=key.team_id, trigger_id=trigger_id)
    if trigger is None:
        raise NotFound(f"trigger {trigger_id} not found")
    return trigger


TriggerDep = Annotated[Trigger, Depends(get_trigger)]


def to_public(request: Request, trigger: Trigger) -> TriggerPublic:
    return TriggerPublic(
        id=trigger.id,
        name=trigger.name,
        url=str(request.url_for("fire_trigger", trigger_id=trigger.id)),
        dataset_id=trigger.dataset_id,
        job=trigger.job,
        alias=trigger.alias,
        gate=Gate(
            metric=trigger.gate_metric,
            min_delta=trigger.gate_min_delta,
            eval_dataset_id=trigger.eval_dataset_id,
        ),
        created_at=trigger.created_at,
    )


def with_secret(request: Request, trigger: Trigger, keyring: Keyring) -> TriggerWithSecret:
    secret = keyring.open(trigger.sealed_secret)
    return TriggerWithSecret(**to_public(request, trigger).model_dump(), secret=secret)


def run_public(run: TriggerRun) -> TriggerRunPublic:
    return TriggerRunPublic.model_validate(run, from_attributes=True)


@router.post("", status_code=201, response_model=TriggerWithSecret)
def create_trigger(
    body: TriggerCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    key: WriteKey,
    idempotency_key: IdempotencyKey = None,
) -> TriggerWithSecret | JSONResponse:
    """A retraining trigger. The answer carries the secret callers sign with, shown only now
    (and to a repeat with the same `Idempotency-Key`, which creates nothing more)."""

    def create() -> TriggerWithSecret:
        quotas.check_room(session, settings=settings, team_id=key.team_id, quota=Quota.triggers)
        trigger = triggers.create(session, keyring=keyring, team_id=key.team_id, request=body)
        session.commit()
        return with_secret(request, trigger, keyring)

    return run_once(
        session,
        key=idempotency_key,
        team_id=key.team_id,
        scope="POST /v1/triggers",
        request_fingerprint=fingerprint(body.model_dump(mode="json")),
        status_code=201,
        work=create,
        settings=settings,
        sealed_with=keyring,
    )


@router.get("", response_model=TriggersPublic)
def list_triggers(
    request: Request,
    session: SessionDep,
    key: ReadKey,
    limit: LimitQuery = 20,
    after: AfterQuery = None,
) -> TriggersPublic:
    page = triggers.get_all(session, team_id=key.team_id, limit=limit, after=after)
    return TriggersPublic(data=[to_public(request, t) for t in page.items], has_more=page.has_more)


@router.get("/{trigger_id}", response_model=TriggerPublic)
def get_trigger_route(trigger: TriggerDep, request: Request) -> TriggerPublic:
    return to_public(request, trigger)


@router.delete("/{trigger_id}", status_code=204)
def delete_trigger(trigger: TriggerDep, session: SessionDep, _key: WriteKey) -> Response:
    triggers.delete(session, trigger=trigger)
    session.commit()
    return Response(status_code=204)


@router.post("/{trigger_id}/secret", response_model=TriggerWithSecret)
def rotate_trigger_secret(
    trigger: TriggerDep,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
    key: WriteKey,
    idempotency_key: IdempotencyKey = None,
) -> TriggerWithSecret | JSONResponse:
    """A new signing secret, shown only in this answer. Calls signed with the previous one
    are still accepted for `ADAPTD_TRIGGER_SECRET_GRACE_SECONDS` (a day by default), so a
    pipeline can switch over without failed calls."""
    grace = timedelta(seconds=settings.trigger_secret_grace_seconds)

    def rotate() -> TriggerWithSecret:
        rotated = triggers.rotate_secret(session, keyring=keyring, trigger=trigger, grace=grace)
        session.commit()
        return with_secret(request, rotated, keyring)

    return run_once(
        session,
        key=idempotency_key,
        team_id=key.team_id,
        scope="POST /v1/triggers/{id}/secret",
        request_fingerprint=fingerprint(trigger.id),
        status_code=200,
        work=rotate,
        settings=settings,
        sealed_with=keyring,
    )


@router.get("/{trigger_id}/runs", response_model=TriggerRunsPublic)
def list_trigger_runs(
    trigger: TriggerDep, session: SessionDep, limit: LimitQuery = 20, after: AfterQuery = None
) -> TriggerRunsPublic:
    """Every retrain, newest first: its job, both gate scores, the decision and why."""
    page = triggers.get_runs(session, trigger_id=trigger.id, limit=limit, after=after)
    return TriggerRunsPublic(data=[run_public(r) for r in page.items], has_more=page.has_more)


@router.post(
    "/{trigger_id}/fire",
    status_code=202,
    response_model=TriggerFired,
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": TriggerFireBody.model_json_schema()}}
        },
    },
)
def fire_trigger(
    trigger_id: str,
    request: Request,
    body: RawBody,
    session: SessionDep,
    settings: SettingsDep,
    keyring: KeyringDep,
) -> TriggerFired | JSONResponse:
    """Start a retrain. No API key: the call is signed per Standard Webhooks with the
    trigger's secret (`webhook-id`, `webhook-timestamp` within 5 minutes, `webhook-signature`).
    A repeated `webhook-id` is answered with the first answer and starts nothing."""
    trigger = session.get(Trigger, trigger_id) if is_well_formed(trigger_id) else None
    if trigger is None:
        raise NotFound(f"trigger {trigger_id} not found")
    triggers.verify(trigger, keyring, body, dict(request.headers))
    act_as(request, Actor(f"trigger:{trigger.id}", trigger.team_id))
    message_id = request.headers["webhook-id"][:200]
    if earlier := triggers.get_fire(session, trigger_id=trigger.id, message_id=message_id):
        return _replayed(session, earlier.answer)
    examples = _examples(body)
    try:
        fired = retrains.fire(
            session, trigger=trigger, message_id=message_id, examples=examples, settings=settings
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        earlier = triggers.get_fire(session, trigger_id=trigger.id, message_id=message_id)
        assert earlier is not None
        return _replayed(session, earlier.answer)
    celery = request.app.state.celery
    if celery is not None and not fired.coalesced:
        dispatch.publish_due(
            session, settings=settings, send=lambda job_id: publish_training(celery, job_id)
        )
    return TriggerFired(
        run=run_public(fired.run), coalesced=fired.coalesced, dataset_id=fired.dataset_id
    )


def _examples(body: bytes) -> list[ExampleIn]:
    if not body.strip():
        return []
    try:
        return TriggerFireBody.model_validate_json(body).examples
    except ValidationError as error:
        errors = validation_errors([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
        raise ValidationFailed("the body is not a valid trigger call", errors=errors) from None


def _replayed(session: SessionDep, answer: dict[str, object]) -> JSONResponse:
    run = session.get(TriggerRun, answer["run_id"])
    assert run is not None
    fired = TriggerFired(
        run=run_public(run),
        coalesced=bool(answer["coalesced"]),
        dataset_id=str(answer["dataset_id"]),
    )
    return JSONResponse(
        fired.model_dump(mode="json"), status_code=202, headers={"Idempotent-Replayed": "true"}
    )
