"""Per-team limits: one default for every team in the settings, and the admin's overrides
stored on the team. Every limit is read through `limit_of`, so a new quota is one enum member
and one setting."""

import enum
from collections.abc import Mapping

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.core.config import Settings
from app.core.problems import QuotaExceeded, TooManyRequests
from app.models import ApiKey, Job, JobStatus, Team, Trigger, WebhookEndpoint


class Quota(enum.StrEnum):
    active_jobs = "active_jobs"
    running_jobs = "running_jobs"
    predict_texts_in_flight = "predict_texts_in_flight"
    webhooks = "webhooks"
    triggers = "triggers"
    api_keys = "api_keys"
    requests_per_minute = "requests_per_minute"


def default_of(settings: Settings, quota: Quota) -> int:
    value: int = getattr(settings, f"quota_{quota.value}")
    return value


def limit_of(settings: Settings, overrides: Mapping[str, int], quota: Quota) -> int:
    return overrides.get(quota.value) or default_of(settings, quota)


def limits_of(settings: Settings, overrides: Mapping[str, int]) -> dict[Quota, int]:
    return {quota: limit_of(settings, overrides, quota) for quota in Quota}


def set_overrides(team: Team, changes: Mapping[Quota, int | None]) -> None:
    """Each change sets a team's own limit, or (None) returns it to the default."""
    overrides = dict(team.quotas)
    for quota, value in changes.items():
        if value is None:
            overrides.pop(quota.value, None)
        else:
            overrides[quota.value] = value
    team.quotas = overrides


def usage(session: Session, *, team_id: str) -> dict[Quota, int]:
    """What the team holds now of each quota that is counted in the database."""
    return {quota: _count(session, team_id, quota) for quota in COUNTED}


def held_and_limit(
    session: Session, *, settings: Settings, team_id: str, quota: Quota
) -> tuple[int, int]:
    """What the team holds of a counted quota, and its limit. The team's row stays locked until
    the caller's commit, so concurrent additions for one team are counted one after another."""
    team = session.scalars(select(Team).where(Team.id == team_id).with_for_update()).one()
    return _count(session, team_id, quota), limit_of(settings, team.quotas, quota)


def check_room(session: Session, *, settings: Settings, team_id: str, quota: Quota) -> None:
    """Refuse to add one more of a counted thing when the team holds its limit."""
    held, limit = held_and_limit(session, settings=settings, team_id=team_id, quota=quota)
    if held < limit:
        return
    if quota is Quota.active_jobs:
        raise TooManyRequests(
            f"this team has {held} jobs queued or running, its limit ({quota.value}: {limit}); "
            "submit again when one ends, or ask the operator for a higher limit",
            retry_after_seconds=30,
            quota=quota.value,
            limit=limit,
        )
    raise QuotaExceeded(
        f"this team already has {held} {quota.value.replace('_', ' ')}, its limit ({limit}); "
        "delete one first, or ask the operator for a higher limit",
        quota=quota.value,
        limit=limit,
    )


_COUNTED_ROWS: dict[Quota, tuple[InstrumentedAttribute[str], ColumnElement[bool] | None]] = {
    Quota.active_jobs: (Job.team_id, Job.status.in_([JobStatus.queued, JobStatus.running])),
    Quota.running_jobs: (Job.team_id, Job.status == JobStatus.running),
    Quota.webhooks: (WebhookEndpoint.team_id, None),
    Quota.triggers: (Trigger.team_id, None),
    Quota.api_keys: (ApiKey.team_id, ApiKey.revoked_at.is_(None)),
}
COUNTED = tuple(_COUNTED_ROWS)


def _count(session: Session, team_id: str, quota: Quota) -> int:
    owner, condition = _COUNTED_ROWS[quota]
    statement = select(func.count()).where(owner == team_id)
    if condition is not None:
        statement = statement.where(condition)
    return session.scalar(statement) or 0
