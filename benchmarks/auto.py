"""`auto` against every strategy it could have chosen, on CLINC150 through the HTTP API.

For each data shape (0, 10, 50 and all examples per intent) the script runs an `auto` job with
the given budget, then each strategy that fits the shape with its defaults, all against the
CLINC150 validation split, and scores every model on the test split. A strategy "fits the
budget" when its own job took no longer than the budget. Prints one table per shape and the
gap between `auto` and the best strategy that fits.

    python -m benchmarks.auto                                  # hours on 2 CPU cores
    python -m benchmarks.auto --intents 10 --shapes 10 50 --budget-seconds 600
"""

import argparse
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from app.services.strategy_choice import contestants
from benchmarks.common import (
    OUT_OF_SCOPE,
    per_label,
    predict_all,
    read_split,
    running_adaptd,
    score,
    upload_csv,
    wait_for_job,
)

Rows = list[dict[str, str]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shapes", nargs="*", default=["0", "10", "50", "all"])
    parser.add_argument("--budget-seconds", type=int, default=1800)
    parser.add_argument("--intents", type=int, help="a random subset of this many intents")
    parser.add_argument(
        "--auto-only", action="store_true", help="run the auto job alone, not each strategy"
    )
    args = parser.parse_args()
    train, validation, test = (_subset(read_split(s), args.intents) for s in _SPLITS)
    labels = sorted({row["label"] for row in train})
    with tempfile.TemporaryDirectory() as scratch, running_adaptd(Path(scratch) / "data") as client:
        validation_id = upload_csv(client, "validation", validation)
        for shape in args.shapes:
            rows = train if shape == "all" else per_label(train, int(shape), seed=0)
            dataset_id = upload_csv(client, f"train-{shape}", rows) if rows else None
            counts = {label: sum(r["label"] == label for r in rows) for label in labels}
            strategies = ["zero_shot"] if not rows else [str(s) for s in contestants(counts)]
            results = [_measure(client, "auto", dataset_id, validation_id, labels, test, args)] + [
                _measure(client, strategy, dataset_id, validation_id, labels, test, args)
                for strategy in strategies
            ]
            _print(shape, len(rows), results, args.budget_seconds)


_SPLITS = ("train", "validation", "test")


def _subset(rows: Rows, intents: int | None) -> Rows:
    if intents is None:
        return rows
    names = sorted({row["label"] for row in rows if row["label"] != OUT_OF_SCOPE})
    kept = set(random.Random(0).sample(names, intents))
    return [row for row in rows if row["label"] in kept]


def _measure(
    client: httpx.Client,
    strategy: str,
    dataset_id: str | None,
    validation_id: str,
    labels: list[str],
    test: Rows,
    args: argparse.Namespace,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "strategy": strategy,
        "validation_dataset_id": validation_id,
        "budget_seconds": args.budget_seconds,
    }
    if dataset_id is not None:
        body["dataset_id"] = dataset_id
    else:
        body["label_descriptions"] = {label: label.replace("_", " ") for label in labels}
    answer = client.post("/v1/jobs", json=body)
    answer.raise_for_status()
    job = wait_for_job(client, answer.json()["id"])
    if job["status"] != "succeeded":
        raise SystemExit(f"{strategy}: job ended {job['status']}: {job['error']}")
    predicted = predict_all(client, str(job["model_id"]), [r["text"] for r in test])
    scores = score([r["label"] for r in test], predicted)
    metrics: dict[str, float] = job["metrics"]  # type: ignore[assignment]
    return {
        "strategy": strategy,
        "ran": job["strategy"],
        "validation": metrics.get("accuracy"),
        "test": 100 * scores.in_scope_accuracy,
        "seconds": _seconds(str(job["started_at"]), str(job["finished_at"])),
        "reason": job.get("strategy_reason") or "",
    }


def _print(shape: str, examples: int, results: list[dict[str, Any]], budget: int) -> None:
    auto, *others = results
    fitting = [r for r in others if r["seconds"] <= budget]
    best = max(fitting, key=lambda r: r["test"]) if fitting else None
    print(f"\n{shape} examples per intent ({examples} rows), budget {budget} s\n")
    print("| job | ran | validation acc | test in-scope acc | wall time | fits the budget |")
    print("|---|---|---|---|---|---|")
    for result in results:
        fits = "-" if result is auto else ("yes" if result in fitting else "no")
        validation = result["validation"]
        print(
            f"| {result['strategy']} | {result['ran']} | "
            f"{'-' if validation is None else f'{100 * validation:.1f}'} | "
            f"{result['test']:.1f} | {result['seconds']:.0f} s | {fits} |"
        )
    if best is not None:
        gap = auto["test"] - best["test"]
        print(f"\n`auto` - best that fits (`{best['strategy']}`): {gap:+.1f} points")
    print(f"\n`auto`: {auto['reason']}", flush=True)


def _seconds(started: str, finished: str) -> float:
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n(benchmark wall time {time.perf_counter() - started:.0f} s)")
