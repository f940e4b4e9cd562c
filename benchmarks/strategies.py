"""Every strategy on CLINC150, through the HTTP API: the code path users call.

Starts `adaptd serve` on an empty data directory (embedded default: SQLite, local runner),
uploads the splits, and runs: `zero_shot` from label names; `frozen` and `few_shot` on 10
examples per intent; `frozen`, `lora` and `full` on the whole train split. Each model is
scored on the test split through the predict endpoint (and evaluated by
`POST /v1/models/{id}/evaluate` for its calibration). Then every trainable strategy on a
multi-label set built from CLINC150 (`common.multi_label_split`: single utterances, pairs of
utterances of two intents carrying both labels, out-of-scope utterances carrying none), on 10
examples per label and on all, scored by `POST /v1/models/{id}/evaluate` on its test split with
the thresholds each model tuned on validation. Every job asks for no hyperparameters: the
tables measure the defaults a user gets. Prints two tables.

    python -m benchmarks.strategies          # everything: about two hours on 2 CPU cores
    python -m benchmarks.strategies --only zero_shot frozen@10 few_shot@10
    python -m benchmarks.strategies --only multi:frozen@10 multi:full@10
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
    multi_label_split,
    multi_label_subsample,
    per_label,
    predict_all,
    read_split,
    running_adaptd,
    score,
    upload_csv,
    upload_multi_label,
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
MULTI_LABEL_RUNS = [
    Run(f"multi:{strategy}{suffix}", strategy, data, {})
    for data, suffix in (("multi_shots", f"@{SHOTS}"), ("multi_train", ""))
    for strategy in ("frozen", "few_shot", "lora", "full")
    if (strategy, data) != ("few_shot", "multi_train")
]
DATA_NAMES = {
    "none": "label names",
    "shots": f"{SHOTS} per intent",
    "train": "train split",
    "multi_shots": f"{SHOTS} per label",
    "multi_train": "train split",
}
GOALS = {"full": ">= 96.9", "frozen": ">= 95.5", "few_shot@10": ">= 94.2", "zero_shot": ">= 72"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    names = [run.name for run in RUNS + MULTI_LABEL_RUNS]
    parser.add_argument("--only", nargs="*", choices=names)
    args = parser.parse_args()
    runs = [run for run in RUNS if not args.only or run.name in args.only]
    multi_label_runs = [run for run in MULTI_LABEL_RUNS if not args.only or run.name in args.only]

    train, validation, test = read_split("train"), read_split("validation"), read_split("test")
    shots = per_label(train, SHOTS, seed=0)
    rows: list[str] = []
    multi_label_rows: list[str] = []
    with tempfile.TemporaryDirectory() as scratch, running_adaptd(Path(scratch) / "data") as client:
        if runs:
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
        if multi_label_runs:
            multi_label_datasets = _upload_multi_label(client)
        for run in multi_label_runs:
            row = _measure_multi_label(client, run, multi_label_datasets)
            multi_label_rows.append(row)
            print(row, flush=True)

    if rows:
        _print_table(rows, len(test), len(train), len(shots))
    if multi_label_rows:
        _print_multi_label_table(multi_label_rows, multi_label_datasets)


def _print_table(rows: list[str], tests: int, trains: int, shots: int) -> None:
    print(
        f"\nCLINC150 test split ({tests} rows; 150 intents + oos), all-MiniLM-L6-v2, "
        f"default hyperparameters; 'train' = {trains} rows, '@10' = {shots} rows\n"
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
    job = _finished(client, run, body)
    model_id = str(job["model_id"])
    texts, truth = [r["text"] for r in test], [r["label"] for r in test]
    scores = score(truth, predict_all(client, model_id, texts))
    never_abstaining = score(truth, predict_all(client, model_id, texts, abstaining=False))
    calibration = {
        split: evaluate(client, model_id, datasets[split])["expected_calibration_error"]
        for split in ("test", "test_in_scope")
    }
    model = client.get(f"/v1/models/{model_id}").json()
    return (
        f"| {run.strategy} | {DATA_NAMES[run.data]} | "
        f"{100 * scores.in_scope_accuracy:.1f} | {100 * never_abstaining.in_scope_accuracy:.1f} | "
        f"{GOALS.get(run.name, '-')} | {100 * scores.oos_recall:.1f} | "
        f"{100 * never_abstaining.oos_recall:.1f} | {100 * scores.macro_f1:.1f} | "
        f"{calibration['test']:.3f} | {calibration['test_in_scope']:.3f} | {_wall(job)} | "
        f"{_speed(job)} | {_size(model['size_bytes'])} |"
    )


@dataclass(frozen=True)
class MultiLabelDatasets:
    ids: dict[str, str]
    sizes: dict[str, int]


def _upload_multi_label(client: httpx.Client) -> MultiLabelDatasets:
    splits = {name: multi_label_split(name) for name in ("train", "validation", "test")}
    splits["multi_shots"] = multi_label_subsample(splits["train"], SHOTS, seed=0)
    splits["multi_train"] = splits.pop("train")
    return MultiLabelDatasets(
        ids={
            name: upload_multi_label(client, f"clinc150-multi-label-{name}", examples)
            for name, examples in splits.items()
        },
        sizes={name: len(examples) for name, examples in splits.items()},
    )


def _measure_multi_label(client: httpx.Client, run: Run, datasets: MultiLabelDatasets) -> str:
    body = {
        "strategy": run.strategy,
        "hyperparameters": run.hyperparameters,
        "dataset_id": datasets.ids[run.data],
        "validation_dataset_id": datasets.ids["validation"],
    }
    job = _finished(client, run, body)
    report = evaluate(client, str(job["model_id"]), datasets.ids["test"])
    model = client.get(f"/v1/models/{job['model_id']}").json()
    return (
        f"| {run.strategy} | {DATA_NAMES[run.data]} ({datasets.sizes[run.data]} texts) | "
        f"{report['micro_f1']:.3f} | {report['macro_f1']:.3f} | {100 * report['accuracy']:.1f} | "
        f"{_wall(job)} | {_speed(job)} | {_size(model['size_bytes'])} |"
    )


def _print_multi_label_table(rows: list[str], datasets: MultiLabelDatasets) -> None:
    print(
        f"\nMulti-label CLINC150, test split ({datasets.sizes['test']} texts, 150 labels; a "
        "text carries one label, two, or none), all-MiniLM-L6-v2, default hyperparameters, "
        "thresholds tuned on the validation split\n"
    )
    print(
        "| strategy | train data | micro-F1 | macro-F1 | exact match | job wall time | "
        "train samples/s | artifact |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


def _finished(client: httpx.Client, run: Run, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/jobs", json=body)
    answer.raise_for_status()
    job: dict[str, Any] = wait_for_job(client, answer.json()["id"])
    if job["status"] != "succeeded":
        raise SystemExit(f"{run.name}: job ended {job['status']}: {job['error']}")
    return job


def _wall(job: dict[str, Any]) -> str:
    return f"{_seconds(str(job['started_at']), str(job['finished_at'])):.0f} s"


def _speed(job: dict[str, Any]) -> str:
    speed = job["metrics"].get("train_samples_per_second")
    return f"{speed:.0f}" if speed else "-"


def _seconds(started: str, finished: str) -> float:
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"\n(benchmark wall time {time.perf_counter() - started:.0f} s)")
