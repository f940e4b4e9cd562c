"""Upload of a large labeled CSV (1,000,000 rows, about 100 MB by default) to `adaptd serve`
on PostgreSQL: wall time, the server's peak resident memory (VmHWM) before and after, what
the rows take in the database, where every worker reads them, and what a training process
pays to read them back (time, peak memory added).

Rows are two CLINC150 training utterances of one intent and a row number, so every text is
distinct; 150 labels.

    python -m benchmarks.large_upload --database-url postgresql+psycopg://... [--rows N]
"""

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import psycopg

from benchmarks.common import adaptd_server, read_split


def write_rows(path: Path, rows: int, seed: int = 0) -> int:
    by_label: dict[str, list[str]] = defaultdict(list)
    for row in read_split("train"):
        if row["label"] != "oos":
            by_label[row["label"]].append(row["text"])
    labels = sorted(by_label)
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "label"])
        for index in range(rows):
            label = labels[index % len(labels)]
            first, second = rng.sample(by_label[label], 2)
            writer.writerow([f"{first}, then {second} (#{index})", label])
    return path.stat().st_size


def peak_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def table_megabytes(database_url: str) -> float:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        size = connection.execute("SELECT pg_total_relation_size('dataset_example')").fetchone()
    return float(size[0]) / 1e6 if size else 0.0


READ_AS_TRAINING_DOES = """
import json, resource, sys, time
from app.core.config import Settings
from app.core.db import new_session
from app.services import datasets
settings = Settings(database_url=sys.argv[1])
with new_session(settings) as session:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    examples = datasets.get_examples(session, dataset_id=sys.argv[2])
    seconds = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"rows": len(examples), "seconds": seconds, "megabytes": grown}))
"""


def training_read(database_url: str, dataset_id: str) -> dict[str, float]:
    """What a training process pays to read the dataset's rows: time and peak memory added."""
    answer = subprocess.run(
        [sys.executable, "-c", READ_AS_TRAINING_DOES, database_url, dataset_id],
        check=True,
        capture_output=True,
        text=True,
    )
    read: dict[str, float] = json.loads(answer.stdout.splitlines()[-1])
    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = Path(scratch) / "large.csv"
        size = write_rows(csv_path, args.rows)
        env = {
            "ADAPTD_DATABASE_URL": args.database_url,
            "ADAPTD_MAX_UPLOAD_BYTES": str(size + 1_000_000),
            "ADAPTD_MAX_EXAMPLES": str(args.rows),
        }
        with adaptd_server(Path(scratch) / "data", **env) as server:
            before = peak_megabytes(server.pid)
            started = time.perf_counter()
            with csv_path.open("rb") as file, httpx.Client(timeout=3600) as client:
                answer = client.post(
                    f"{server.base_url}/v1/datasets",
                    headers={"Authorization": f"Bearer {server.api_key}"},
                    files={"file": ("large.csv", file, "text/csv")},
                    data={"name": "large"},
                )
            seconds = time.perf_counter() - started
            if answer.status_code != 201:
                raise SystemExit(f"upload refused: {answer.status_code} {answer.text[:2000]}")
            after = peak_megabytes(server.pid)
        stored = answer.json()
    read = training_read(args.database_url, stored["id"])
    print(
        "| rows | CSV MB | upload s | rows/s | API peak RSS before, after MB | in PostgreSQL MB "
        "| training read s | training read MB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {stored['num_examples']:,} | {size / 1e6:.0f} | {seconds:.1f} | "
        f"{stored['num_examples'] / seconds:,.0f} | {before:.0f} / {after:.0f} | "
        f"{table_megabytes(args.database_url):.0f} | {read['seconds']:.1f} | "
        f"{read['megabytes']:.0f} |"
    )


if __name__ == "__main__":
    main()
