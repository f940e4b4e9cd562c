"""Which queued jobs may start now, and in what order.

A team runs at most its `running_jobs` quota at once; a job published to the broker and not yet
started counts as running, so the broker never holds more of one team's jobs than it may run.
Among the jobs that may start, teams take turns: first the teams with the fewest jobs under
way, then the team that started a job longest ago, then the oldest job. A team that submits a
hundred jobs therefore delays another team's one job by at most the jobs already under way.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import Job, JobStatus, Team
from app.services import quotas
from app.services.queries import database_seconds_ago
from app.services.quotas import Quota


@dataclass(frozen=True)
class _Waiting:
    job_id: str
    team_id: str
    turn: int


@dataclass(frozen=True)
class _Load:
    under_way: int
    last_started_at: datetime | None


def due(session: Session, *, settings: Settings, limit: int) -> list[str]:
    """Up to `limit` queued jobs to start or publish now, the fairest first. A publication older
    than `republish_after_seconds` is taken as lost: its job is due again."""
    stale = database_seconds_ago(session, settings.republish_after_seconds)
    waiting = _waiting(session, stale, limit)
    if not waiting:
        return []
    team_ids = {w.team_id for w in waiting}
    loads = _loads(session, stale, team_ids)
    caps = _running_caps(session, settings, team_ids)
    chosen = [w for w in waiting if loads[w.team_id].under_way + w.turn <= caps[w.team_id]]
    chosen.sort(key=lambda w: _fairness(w, loads[w.team_id]))
    return [w.job_id for w in chosen[:limit]]


def may_start(session: Session, *, settings: Settings, job_id: str) -> bool:
    """Whether the job's team runs fewer jobs than its quota. The team's row stays locked until
    the caller's commit, so two workers cannot both take the team's last place."""
    team_id = session.scalar(select(Job.team_id).where(Job.id == job_id))
    if team_id is None:
        return True
    running, limit = quotas.held_and_limit(
        session, settings=settings, team_id=team_id, quota=Quota.running_jobs
    )
    return running < limit


def hold_back(session: Session, *, job_id: str) -> None:
    """A published job that may not start yet waits unpublished, to be published in its turn."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.queued)
        .values(published_at=None)
    )
    session.commit()


def _waiting(session: Session, stale: object, limit: int) -> list[_Waiting]:
    turn = func.row_number().over(partition_by=Job.team_id, order_by=Job.id).label("turn")
    unpublished = and_(
        Job.status == JobStatus.queued,
        or_(Job.published_at.is_(None), Job.published_at < stale),
    )
    ranked = select(Job.id, Job.team_id, turn).where(unpublished).subquery()
    rows = session.execute(select(ranked).where(ranked.c.turn <= limit)).all()
    return [_Waiting(row.id, row.team_id, row.turn) for row in rows]


def _loads(session: Session, stale: object, team_ids: set[str]) -> dict[str, _Load]:
    """Each team's jobs under way (read through the status index: only unfinished jobs) and
    its latest start (one step down the (team_id, started_at) index per team), so that the
    cost does not grow with the jobs a team has finished."""
    under_way = or_(
        Job.status == JobStatus.running,
        and_(Job.status == JobStatus.queued, Job.published_at >= stale),
    )
    counts = dict(
        session.execute(
            select(Job.team_id, func.count())
            .where(Job.status.in_((JobStatus.running, JobStatus.queued)), under_way)
            .where(Job.team_id.in_(team_ids))
            .group_by(Job.team_id)
        ).all()
    )
    latest = select(func.max(Job.started_at)).where(Job.team_id == Team.id).scalar_subquery()
    started = dict(session.execute(select(Team.id, latest).where(Team.id.in_(team_ids))).all())
    return {team_id: _Load(counts.get(team_id, 0), started.get(team_id)) for team_id in team_ids}


def _running_caps(session: Session, settings: Settings, team_ids: set[str]) -> dict[str, int]:
    rows = session.execute(select(Team.id, Team.quotas).where(Team.id.in_(team_ids))).all()
    return {row.id: quotas.limit_of(settings, row.quotas, Quota.running_jobs) for row in rows}


def _fairness(waiting: _Waiting, load: _Load) -> tuple[int, float, str]:
    last = load.last_started_at.timestamp() if load.last_started_at else float("-inf")
    return (load.under_way + waiting.turn, last, waiting.job_id)
