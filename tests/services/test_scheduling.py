from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.models import Job, JobStatus, Team
from app.models.base import utcnow
from app.services import leases, quotas, scheduling
from app.services.quotas import Quota
from tests.factories import TeamCredentials, create_dataset, create_job
from workers.execution import execute_job
from workers.maintenance import dispatch_due


def queue(client: TestClient, team: TeamCredentials, count: int) -> list[str]:
    dataset_id = create_dataset(client, team)
    return [create_job(client, team, dataset_id).json()["id"] for _ in range(count)]


def limit_running(session: Session, team: TeamCredentials, running_jobs: int) -> None:
    quotas.set_overrides(session.get_one(Team, team.team_id), {Quota.running_jobs: running_jobs})
    session.commit()


def test_teams_take_turns_instead_of_first_come_first_served(
    client: TestClient,
    team: TeamCredentials,
    other_team: TeamCredentials,
    settings: Settings,
    session: Session,
) -> None:
    first, second, third = queue(client, team, 3)
    (late,) = queue(client, other_team, 1)

    assert scheduling.due(session, settings=settings, limit=10) == [first, late, second, third]


def test_a_team_runs_no_more_than_its_running_jobs_and_the_others_go_first(
    client: TestClient,
    team: TeamCredentials,
    other_team: TeamCredentials,
    settings: Settings,
    session: Session,
) -> None:
    limit_running(session, team, 2)
    first, second, _third = queue(client, team, 3)
    (late,) = queue(client, other_team, 1)
    leases.claim(session, job_id=first, worker="w")

    assert scheduling.due(session, settings=settings, limit=10) == [late, second]


def test_the_team_served_longest_ago_goes_first_when_loads_are_equal(
    client: TestClient,
    team: TeamCredentials,
    other_team: TeamCredentials,
    settings: Settings,
    session: Session,
) -> None:
    (served_before,) = queue(client, team, 1)
    (waiting,) = queue(client, other_team, 1)
    (served_since,) = queue(client, team, 1)
    session.get_one(Job, served_before).status = JobStatus.succeeded
    session.get_one(Job, served_before).started_at = utcnow() - timedelta(minutes=5)
    session.commit()

    assert scheduling.due(session, settings=settings, limit=10) == [waiting, served_since]


def test_published_jobs_count_against_the_running_limit(
    client: TestClient,
    team: TeamCredentials,
    other_team: TeamCredentials,
    settings: Settings,
    session: Session,
) -> None:
    limit_running(session, team, 1)
    first, _second = queue(client, team, 2)
    (other,) = queue(client, other_team, 1)
    sent: list[str] = []

    dispatch_due(settings, sent.append)
    dispatch_due(settings, sent.append)

    assert sent == [first, other]


def test_a_worker_handed_a_job_past_its_teams_limit_leaves_it_for_its_turn(
    client: TestClient, team: TeamCredentials, settings: Settings, session: Session
) -> None:
    limit_running(session, team, 1)
    first, second = queue(client, team, 2)
    sent: list[str] = []
    dispatch_due(settings, sent.append)
    leases.claim(session, job_id=first, worker="w")
    session.get_one(Job, second).published_at = utcnow()
    session.commit()

    assert execute_job(settings, second, worker="w2") is False

    session.expire_all()
    held = session.get_one(Job, second)
    assert (held.status, held.published_at, held.attempt) == ("queued", None, 0)
    assert scheduling.due(session, settings=settings, limit=10) == []
    session.get_one(Job, first).status = JobStatus.succeeded
    session.commit()
    assert scheduling.due(session, settings=settings, limit=10) == [second]
