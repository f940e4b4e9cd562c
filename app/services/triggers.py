"""Retraining triggers: created by a team, fired by its pipelines with signed calls."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.core.ids import new_id
from app.core.problems import Conflict, Unauthorized, ValidationFailed
from app.core.sealing import Keyring
from app.models import Trigger, TriggerFire, TriggerRun
from app.models.base import utcnow
from app.schemas.trigger import TriggerCreate
from app.services import datasets, job_requests
from app.services.queries import Page, get_owned, paginate
from app.services.webhooks import new_secret

ACTIVE_RUN_STATUSES = ("training", "evaluating")


def get(session: Session, *, team_id: str, trigger_id: str) -> Trigger | None:
    return get_owned(session, Trigger, team_id=team_id, id_=trigger_id)


def get_all(session: Session, *, team_id: str, limit: int, after: str | None) -> Page[Trigger]:
    statement = select(Trigger).where(Trigger.team_id == team_id)
    return paginate(session, statement, Trigger.id, limit=limit, after=after)


def create(session: Session, *, keyring: Keyring, team_id: str, request: TriggerCreate) -> Trigger:
    for location, dataset_id in (
        ("dataset_id", request.dataset_id),
        ("gate.eval_dataset_id", request.gate.eval_dataset_id),
    ):
        if datasets.get(session, team_id=team_id, dataset_id=dataset_id) is None:
            message = f"dataset {dataset_id} not found"
            raise ValidationFailed(message, errors=[{"location": location, "message": message}])
    job_requests.check_hyperparameters(request.job.strategy, request.job.hyperparameters)
    trigger = Trigger(
        id=new_id("trg"),
        team_id=team_id,
        name=request.name,
        dataset_id=request.dataset_id,
        job=request.job.model_dump(exclude_defaults=True),
        alias=request.alias,
        gate_metric=request.gate.metric,
        gate_min_delta=request.gate.min_delta,
        eval_dataset_id=request.gate.eval_dataset_id,
        sealed_secret=keyring.seal(new_secret()),
    )
    session.add(trigger)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"the team already has a trigger named {request.name!r}") from None
    return trigger


def delete(session: Session, *, trigger: Trigger) -> None:
    session.delete(trigger)
    session.flush()


def verify(trigger: Trigger, keyring: Keyring, body: bytes, headers: dict[str, str]) -> None:
    """Standard Webhooks: the caller signs with the trigger's secret (or, during the grace
    period after a rotation, the previous one); a timestamp more than five minutes off is
    refused."""
    sealed = [trigger.sealed_secret]
    until = trigger.previous_secret_until
    if trigger.sealed_previous_secret is not None and until is not None and utcnow() < until:
        sealed.append(trigger.sealed_previous_secret)
    secrets = [keyring.open(value) for value in sealed]
    failure: Exception | None = None
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers, json_parse=False)
            return
        except (WebhookVerificationError, ValueError) as error:
            failure = error
    raise Unauthorized(f"the call is not signed by trigger {trigger.id}: {failure}") from None


def rotate_secret(
    session: Session, *, keyring: Keyring, trigger: Trigger, grace: timedelta
) -> Trigger:
    """A new secret; the old one still verifies for `grace`, so callers can switch over."""
    trigger.sealed_previous_secret = trigger.sealed_secret
    trigger.previous_secret_until = utcnow() + grace
    trigger.sealed_secret = keyring.seal(new_secret())
    session.flush()
    return trigger


def get_fire(session: Session, *, trigger_id: str, message_id: str) -> TriggerFire | None:
    return session.scalars(
        select(TriggerFire).where(
            TriggerFire.trigger_id == trigger_id, TriggerFire.message_id == message_id
        )
    ).first()


def record_fire(
    session: Session, *, trigger_id: str, message_id: str, answer: dict[str, Any]
) -> None:
    session.add(TriggerFire(trigger_id=trigger_id, message_id=message_id, answer=answer))


def active_run(session: Session, *, trigger_id: str) -> TriggerRun | None:
    return session.scalars(
        select(TriggerRun).where(
            TriggerRun.trigger_id == trigger_id, TriggerRun.status.in_(ACTIVE_RUN_STATUSES)
        )
    ).first()


def get_runs(
    session: Session, *, trigger_id: str, limit: int, after: str | None
) -> Page[TriggerRun]:
    statement = select(TriggerRun).where(TriggerRun.trigger_id == trigger_id)
    return paginate(session, statement, TriggerRun.id, limit=limit, after=after)
