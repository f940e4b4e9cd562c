"""One team's flood against another team, in one run on one `adaptd serve`.

Two teams each train a `frozen` model on 10 CLINC150 intents (both on the same shared MiniLM
base). Team B ("quiet") sends single-text requests from 4 clients; team A ("flood") sends
requests of 16 texts from 64 clients. Table 1 gives B's p50/p99 latency and error rate with
no flood, during the flood under A's `predict_texts_in_flight` quota, and during the flood
with that quota lifted, and what A got in each. Table 2: A queues 6 jobs, then B queues one;
the order the embedded runner starts them in.

The server runs on all cores but the last, the load generator on the last. PostgreSQL is
required (`--database-url`, an empty database: its tables are created); key rates are
counted in Redis when `--redis-url` is given.

    python -m benchmarks.fair_share [--seconds 10] [--database-url URL] [--redis-url URL]
"""

import argparse
import asyncio
import os
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import psycopg
from psycopg import sql

from benchmarks.common import adaptd_server, per_label, read_split, upload_csv, wait_for_job
from benchmarks.serving import Cores

ADMIN_TOKEN = "fair-share-benchmark-admin-token"
INTENTS = 10
FLOOD_QUOTA = 128


@dataclass(frozen=True)
class Traffic:
    answered: int
    statuses: Counter[int]
    p50_ms: float
    p99_ms: float
    texts_per_second: float

    @property
    def error_rate(self) -> float:
        total = sum(self.statuses.values())
        errors = total - self.statuses.get(200, 0) - self.statuses.get(429, 0)
        return errors / total if total else 0.0

    @property
    def refused_rate(self) -> float:
        total = sum(self.statuses.values())
        return self.statuses.get(429, 0) / total if total else 0.0


@dataclass(frozen=True)
class Team:
    team_id: str
    key: str
    model_id: str = ""


def traffic(
    base: str,
    team: Team,
    texts: list[str],
    *,
    clients: int,
    per_request: int,
    seconds: float,
    polite: bool = True,
) -> Traffic:
    """Closed loop: each client sends its next request when the last is answered; after a
    429 a polite client waits the `Retry-After` it was given (as the SDK does), a hostile one
    asks again at once. Only answered (200) requests count in the latencies; 429s count as
    refused, other answers as errors."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    stop_at = time.perf_counter() + seconds
    path = f"/v1/models/{team.model_id}/predict"

    async def client_loop(session: aiohttp.ClientSession, number: int) -> None:
        rng = random.Random(number)
        while time.perf_counter() < stop_at:
            body = {"inputs": [rng.choice(texts) for _ in range(per_request)], "top_k": 1}
            started = time.perf_counter()
            try:
                async with session.post(path, json=body) as answer:
                    await answer.read()
                    statuses[answer.status] += 1
                    if answer.status == 200:
                        latencies.append(time.perf_counter() - started)
                    elif answer.status == 429 and polite:
                        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            except aiohttp.ClientError:
                statuses[0] += 1

    async def run() -> None:
        headers = {"Authorization": f"Bearer {team.key}"}
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(
            base, headers=headers, connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        ) as session:
            await asyncio.gather(*(client_loop(session, n) for n in range(clients)))

    asyncio.run(run())
    latencies.sort()

    def pick(quantile: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * quantile))] * 1000

    return Traffic(
        answered=len(latencies),
        statuses=statuses,
        p50_ms=pick(0.5) if latencies else float("nan"),
        p99_ms=pick(0.99) if latencies else float("nan"),
        texts_per_second=len(latencies) * per_request / seconds,
    )


def both(
    base: str,
    quiet: Team,
    flood: Team | None,
    texts: list[str],
    seconds: float,
    *,
    polite: bool = True,
) -> tuple[Traffic, Traffic | None]:
    """The quiet team's traffic, and the flood's when there is one, at the same time."""
    flooded: list[Traffic] = []
    if flood is not None:
        thread = threading.Thread(
            target=lambda: flooded.append(
                traffic(
                    base,
                    flood,
                    texts,
                    clients=64,
                    per_request=16,
                    seconds=seconds + 1,
                    polite=polite,
                )
            )
        )
        thread.start()
        time.sleep(1)
    quiet_traffic = traffic(base, quiet, texts, clients=4, per_request=1, seconds=seconds)
    if flood is not None:
        thread.join()
    return quiet_traffic, flooded[0] if flooded else None


def make_team(admin: httpx.Client, name: str) -> Team:
    team = admin.post("/v1/teams", json={"name": name}).raise_for_status().json()
    key = admin.post(f"/v1/teams/{team['id']}/keys", json={"name": "bench"}).raise_for_status()
    return Team(team["id"], key.json()["key"])


def train(base: str, team: Team, rows: list[dict[str, str]]) -> Team:
    with _client(base, team) as client:
        dataset_id = upload_csv(client, "intents", rows)
        job = client.post("/v1/jobs", json={"dataset_id": dataset_id, "strategy": "frozen"})
        done = wait_for_job(client, job.raise_for_status().json()["id"])
        assert done["status"] == "succeeded", done
        return Team(team.team_id, team.key, str(done["model_id"]))


def job_turns(base: str, flood: Team, quiet: Team, rows: list[dict[str, str]]) -> list[str]:
    """A queues 6 small jobs, then B one; the teams in the order their jobs started."""
    submitted: list[tuple[Team, str, str]] = []
    for team, name, count in ((flood, "A", 6), (quiet, "B", 1)):
        with _client(base, team) as client:
            dataset_id = upload_csv(client, "small", rows)
            for _ in range(count):
                job = client.post("/v1/jobs", json={"dataset_id": dataset_id, "strategy": "frozen"})
                submitted.append((team, name, job.raise_for_status().json()["id"]))
    started = []
    for team, name, job_id in submitted:
        with _client(base, team) as client:
            started.append((str(wait_for_job(client, job_id)["started_at"]), name))
    return [name for _, name in sorted(started)]


def _client(base: str, team: Team) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {team.key}"}, timeout=600)


def empty_database(url: str) -> None:
    """Create the benchmark's database, or empty it when it is there."""
    server, _, name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per traffic phase")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "ADAPTD_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/adaptd_fair_share"
        ),
    )
    parser.add_argument("--redis-url", default=os.environ.get("ADAPTD_BENCH_REDIS_URL"))
    parser.add_argument("--work-dir", type=Path, help="keep data and logs here (default: temp)")
    args = parser.parse_args()

    cores = Cores.split()
    train_rows = read_split("train")
    intents = sorted({row["label"] for row in train_rows if row["label"] != "oos"})[:INTENTS]
    rows = per_label([r for r in train_rows if r["label"] in intents], 60, seed=0)
    small = per_label(rows, 10, seed=1)
    texts = [row["text"] for row in read_split("test") if row["label"] in intents]
    env = {
        "ADAPTD_DATABASE_URL": args.database_url,
        "ADAPTD_ADMIN_TOKEN": ADMIN_TOKEN,
        "ADAPTD_RUNNER_POLL_SECONDS": "0.2",
        "ADAPTD_ACCESS_LOG": "false",
        **({"ADAPTD_RATE_LIMIT_STORAGE_URL": args.redis_url} if args.redis_url else {}),
    }
    empty_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="adaptd-fair-share-") as scratch:
        work = args.work_dir or Path(scratch)
        with adaptd_server(work / "data", cpus=cores.server, **env) as server:
            admin = httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
            suffix = str(int(time.time()))
            flood = train(server.base_url, make_team(admin, f"flood-{suffix}"), rows)
            quiet = train(server.base_url, make_team(admin, f"quiet-{suffix}"), rows)
            quotas = f"/v1/teams/{flood.team_id}/quotas"
            # The flood is held back by its texts in flight alone: a per-minute request count
            # would carry one phase's flood into the next.
            admin.patch(
                quotas,
                json={"predict_texts_in_flight": FLOOD_QUOTA, "requests_per_minute": 1_000_000},
            ).raise_for_status()
            os.sched_setaffinity(0, cores.client)
            phases = {
                "no flood": both(server.base_url, quiet, None, texts, args.seconds),
                f"flood, A's quota {FLOOD_QUOTA} texts": both(
                    server.base_url, quiet, flood, texts, args.seconds
                ),
                f"hostile flood (ignores Retry-After), A's quota {FLOOD_QUOTA} texts": both(
                    server.base_url, quiet, flood, texts, args.seconds, polite=False
                ),
            }
            admin.patch(quotas, json={"predict_texts_in_flight": 1_000_000}).raise_for_status()
            phases["flood, A's quota lifted"] = both(
                server.base_url, quiet, flood, texts, args.seconds
            )
            turns = job_turns(server.base_url, flood, quiet, small)

    print(f"\n{cores.describe()}; {args.seconds:g} s per phase; {args.database_url}")
    print("\nTable 1: team B (4 clients, 1 text) while team A floods (64 clients, 16 texts)\n")
    print(
        "| phase | B p50 ms | B p99 ms | B errors | B refused | "
        "A texts/s | A refused (429) | A errors |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (quiet_traffic, flood_traffic) in phases.items():
        a = (
            f"{flood_traffic.texts_per_second:.0f} | {flood_traffic.refused_rate:.1%} | "
            f"{flood_traffic.error_rate:.1%}"
            if flood_traffic
            else "- | - | -"
        )
        print(
            f"| {name} | {quiet_traffic.p50_ms:.1f} | {quiet_traffic.p99_ms:.1f} | "
            f"{quiet_traffic.error_rate:.1%} | {quiet_traffic.refused_rate:.1%} | {a} |"
        )
    print("\nTable 2: A queues 6 jobs, then B queues 1; the order they started in\n")
    print(f"| order | {' '.join(turns)} |")
    print(f"| B's job started | {turns.index('B') + 1} of {len(turns)} |")


if __name__ == "__main__":
    main()
