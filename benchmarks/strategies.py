"""Every strategy on CLINC150, through the HTTP API: the code path users call.

Starts `adaptd serve` on an empty data directory (embedded default: SQLite, local runner),
uploads the splits, and runs: `zero_shot` from label names; `frozen` and `few_shot` on 10
examples per intent; `frozen`, `lora` and `full` on the whole train split. Each model is
scored on the test split through the predict endpoint (and evaluated by
`POST /v1/models/{id}/evaluate` for its calibration). Every job asks for no hyperparameters:
the table measures the defaults a user gets. Prints one table.

    python -m benchmarks.strategies          # everything: about an hour on 2 CPU cores
    python -m benchmarks.strategies --only zero_shot frozen@10 few_shot@10
"""

import argparse
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    OUT_OF_SCOPE,
    evaluate,
    per_label,
    predict_all,
    read_split,
    running_adaptd,
    score,
    upload_csv,
    wait_for_job,
)

SHOTS = 10


@dataclass(frozen=True)
class Run:
    name: str
    strategy: str
    data: str
    hyperparameters: dict[str, Any]


RUNS = [
    Run("zero_shot", "zero_shot", "none", {}),
    Run("frozen@10", "frozen", "shots", {}),
    Run("few_shot@10", "few_shot", "shots", {}),
    Run("frozen", "frozen", "train", {}),
    Run("lora", "lora", "train", {}),
    Run("full", "full", "train", {}),
]
DATA_NAMES = {"none": "label names", "shots": f"{SHOTS} per intent", "train": "train split"}
GOALS = {"full": ">= 96.9", "frozen": ">= 95.5", "few_shot@10": ">= 94.2", "zero_shot": ">= 72"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=[run.name for run in RUNS])
    args = parser.parse_args()
    runs = [run for run in RUNS if not args.only or run.name in args.only]

    train, validation, test = read_split("train"), read_split("validation"), read_split("test")
    shots = per_label(train, SHOTS, seed=0)
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as scratch, running_adaptd(Path(scratch) / "data") as client:
        datasets = {
            "train": upload_csv(client, "clinc150-train", train),
            "shots": upload_csv(client, f"clinc150-train-{SHOTS}-per-intent", shots),
            "validation": upload_csv(client, "clinc150-validation", validation),
            "test": upload_csv(client, "clinc150-test", test),
            "test_in_scope": upload_csv(
                client,
                "clinc150-test-in-scope",
                [row for row in test if row["label"] != OUT_OF_SCOPE],
            ),
        }
        for run in runs:
            row = _measure(client, run, datasets, test)
            rows.append(row)
            print(row, flush=True)

    print(
        f"\nCLINC150 test split ({len(test)} rows; 150 intents + oos), all-MiniLM-L6-v2, "
        f"default hyperparameters; 'train' = {len(train)} rows, '@10' = {len(shots)} rows\n"
    )
    print(
        "| strategy | data | in-scope acc | never abstaining | goal | oos recall | "
        "never abstaining | macro-F1 | ECE | ECE, in-scope texts | job wall time | "
        "train samples/s | artifact |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


def _measure(
    client: httpx.Client, run: Run, datasets: dict[str, str], test: list[dict[str, str]]
) -> str:
    body: dict[str, Any] = {
        "strategy": run.strategy,
        "hyperparameters": run.hyperparameters,
        "validation_dataset_id": datasets["validation"],
    }
    if run.data != "none":
        body["dataset_id"] = datasets[run.data]
    else:
        labels = sorted({row["label"] for row in test})
        body["label_descriptions"] = {label: label.replace("_", " ") for label in labels}
    answer = client.post("/v1/jobs", json=body)
    answer.raise_for_status()
    job = wait_for_job(client, answer.json()["id"])
    if job["status"] != "succeeded":
        raise SystemExit(f"{run.name}: job ended {job['status']}: {job['error']}")
    wall = _seconds(str(job["started_at"]), str(job["finished_at"]))
    model_id = str(job["model_id"])
    texts, truth = [r["text"] for r in test], [r["label"] for r in test]
    scores = score(truth, predict_all(client, model_id, texts))
    never_abstaining = score(truth, predict_all(client, model_id, texts, abstaining=False))
    calibration = {
        split: evaluate(client, model_id, datasets[split])["expected_calibration_error"]
        for split in ("test", "test_in_scope")
    }
    model = client.get(f"/v1/models/{model_id}").json()
    metrics: dict[str, float] = job["metrics"]  # type: ignore[assignment]
    speed = metrics.get("train_samples_per_second")
    return (
        f"| {run.strategy} | {DATA_NAMES[run.data]} | "
        f"{100 * scores.in_scope_accuracy:.1f} | {100 * never_abstaining.in_scope_accuracy:.1f} | "
        f"{GOALS.get(run.name, '-')} | {100 * scores.oos_recall:.1f} | "
        f"{100 * never_abstaining.oos_recall:.1f} | {100 * scores.macro_f1:.1f} | "
        f"{calibration['test']:.3f} | {calibration['test_in_scope']:.3f} | {wall:.0f} s | "
        f"{f'{speed:.0f}' if speed else '-'} | {_size(model['size_bytes'])} |"
    )


def _seconds(started: str, finished: str) -> float:
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n(benchmark wall time {time.perf_counter() - started:.0f} s)")
