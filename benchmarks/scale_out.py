"""The job queue at scale, on PostgreSQL.

Table 1: trivial jobs claimed per second (claim, then end the job: the conditional updates
and events a real job's start and end cost) by 1, 2 and 3 worker processes, each with its
own connection, the ids handed out as a broker would.

Table 2: the dispatcher's, the reaper's and the listings' queries with 10,000 queued and
100,000 finished jobs and 100,000 models (20 teams), median of 10 runs, and the plan
PostgreSQL chose (EXPLAIN ANALYZE: its top node, whether an index or a sequential scan read
the job table, its execution time).

    python -m benchmarks.scale_out --database-url postgresql+psycopg://.../empty_db
"""

import argparse
import multiprocessing
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.db import get_engine, new_session
from app.core.ids import new_id
from app.core.migrate import upgrade_database
from app.models import Job, JobStatus, Model, Team
from app.models.base import utcnow
from app.services import jobs, leases, models, scheduling
from app.services.dispatch import BATCH

TEAMS = 20
CHUNK = 5000


def job_row(team_id: str, status: JobStatus, finished: bool) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": new_id("job"),
        "team_id": team_id,
        "strategy": "frozen",
        "requested_strategy": "frozen",
        "base_model": "all-MiniLM-L6-v2",
        "hyperparameters": {},
        "metadata_": {},
        "status": status,
        "attempt": 1 if finished else 0,
        "progress": {},
        "metrics": {},
        "started_at": now - timedelta(minutes=5) if finished else None,
        "finished_at": now if finished else None,
    }


def seed(settings: Settings, queued: int, finished: int) -> list[str]:
    """Teams, finished jobs each with its model, and queued jobs; the queued ids."""
    with new_session(settings) as session:
        team_ids = [new_id("team") for _ in range(TEAMS)]
        session.execute(insert(Team), [{"id": t, "name": t, "quotas": {}} for t in team_ids])
        for start in range(0, finished, CHUNK):
            rows = [
                job_row(team_ids[i % TEAMS], JobStatus.succeeded, True)
                for i in range(start, min(finished, start + CHUNK))
            ]
            session.execute(insert(Job), rows)
            session.execute(
                insert(Model),
                [
                    {
                        "id": new_id("mdl"),
                        "team_id": row["team_id"],
                        "job_id": row["id"],
                        "strategy": "frozen",
                        "base_model": "all-MiniLM-L6-v2",
                        "labels": ["a", "b"],
                        "metrics": {},
                        "artifact_key": row["id"],
                        "size_bytes": 1,
                    }
                    for row in rows
                ],
            )
        queued_ids = []
        for start in range(0, queued, CHUNK):
            rows = [
                job_row(team_ids[i % TEAMS], JobStatus.queued, False)
                for i in range(start, min(queued, start + CHUNK))
            ]
            session.execute(insert(Job), rows)
            queued_ids += [row["id"] for row in rows]
        session.commit()
        session.execute(text("ANALYZE"))
    return queued_ids


def _claim_worker(
    database_url: str, ids: "multiprocessing.Queue[str | None]", done: Any, name: str
) -> None:
    settings = Settings(database_url=database_url)
    with new_session(settings) as session:
        while (job_id := ids.get()) is not None:
            token = leases.claim(session, job_id=job_id, worker=name)
            if token is not None:
                leases.fail(session, job_id=job_id, lease_token=token, code="done", message="")
                with done.get_lock():
                    done.value += 1


def claims_per_second(database_url: str, job_ids: list[str], workers: int) -> float:
    context = multiprocessing.get_context("spawn")
    ids: multiprocessing.Queue[str | None] = context.Queue()
    for job_id in job_ids:
        ids.put(job_id)
    for _ in range(workers):
        ids.put(None)
    done = context.Value("i", 0)
    processes = [
        context.Process(target=_claim_worker, args=(database_url, ids, done, f"w{i}"))
        for i in range(workers)
    ]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return done.value / (time.perf_counter() - started)


def captured_sql(settings: Settings, work: Callable[[Session], object]) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []
    engine = get_engine(settings.sqlalchemy_url)

    def record(_c: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with new_session(settings) as session:
            work(session)
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def explain(settings: Settings, statements: list[tuple[str, Any]]) -> tuple[str, str, float]:
    """The slowest statement's top plan node, how it read `job`, and its execution time."""
    engine = get_engine(settings.sqlalchemy_url)
    worst: tuple[str, str, float] = ("", "", 0.0)
    for statement, parameters in statements:
        if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "WITH")):
            continue
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
                plan = cursor.fetchone()[0][0]
            raw.rollback()
        milliseconds = float(plan["Execution Time"])
        if milliseconds >= worst[2]:
            worst = (plan["Plan"]["Node Type"], _job_access(plan["Plan"]), milliseconds)
    return worst


def _job_access(node: dict[str, Any]) -> str:
    if node.get("Relation Name") == "job":
        return f"{node['Node Type']} {node.get('Index Name', '')}".strip()
    for child in node.get("Plans", []):
        found = _job_access(child)
        if found:
            return found
    return ""


def median_ms(settings: Settings, work: Callable[[Session], object], runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        with new_session(settings) as session:
            started = time.perf_counter()
            work(session)
            times.append((time.perf_counter() - started) * 1000)
            session.rollback()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--queued", type=int, default=10_000)
    parser.add_argument("--finished", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=3000)
    args = parser.parse_args()
    settings = Settings(database_url=args.database_url)
    upgrade_database(settings)
    started = time.perf_counter()
    queued = seed(settings, args.queued + 3 * args.claims, args.finished)
    print(f"seeded in {time.perf_counter() - started:.0f} s\n")

    print("| worker processes | trivial jobs claimed and ended per second |")
    print("|---|---|")
    for workers in (1, 2, 3):
        batch, queued = queued[: args.claims], queued[args.claims :]
        print(f"| {workers} | {claims_per_second(args.database_url, batch, workers):.0f} |")

    with new_session(settings) as session:
        team_id = session.scalars(text("SELECT id FROM team LIMIT 1")).one()
    hot: dict[str, Callable[[Session], object]] = {
        "dispatcher: jobs due (scheduling.due)": lambda s: scheduling.due(
            s, settings=settings, limit=BATCH
        ),
        "reaper: expired leases (requeue_expired)": lambda s: leases.requeue_expired(
            s, lease_seconds=settings.lease_seconds
        ),
        "a team's models, first page": lambda s: models.get_all(
            s, team_id=team_id, limit=50, after=None
        ),
        "a team's jobs, first page": lambda s: jobs.get_all(
            s, team_id=team_id, limit=50, after=None
        ),
        "a team's queued jobs, first page": lambda s: jobs.get_all(
            s, team_id=team_id, limit=50, after=None, status=JobStatus.queued
        ),
    }
    print(f"\n{args.queued:,} queued, {args.finished:,} finished jobs, {args.finished:,} models\n")
    print("| query | median ms | slowest statement's plan | job table read by | its execution ms |")
    print("|---|---|---|---|---|")
    for name, work in hot.items():
        node, access, executed = explain(settings, captured_sql(settings, work))
        print(f"| {name} | {median_ms(settings, work):.1f} | {node} | {access} | {executed:.1f} |")


if __name__ == "__main__":
    main()
