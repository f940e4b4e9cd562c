"""ONNX Runtime serving (float32 and int8) against the model as trained, on all-MiniLM-L6-v2
models of every strategy trained on CLINC150.

Each model is trained through a running `adaptd serve`, then `PUT /v1/models/{id}/acceleration`
measures each backend against torch on the model's validation data (the CLINC150 validation
split); the test split is then predicted over HTTP on torch and on int8.

    python -m benchmarks.acceleration [--only frozen full ...]
"""

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import (
    accelerate,
    per_label,
    predict_all,
    read_split,
    running_adaptd,
    score,
    upload_csv,
    wait_for_job,
)

PER_INTENT = 20
MAX_LENGTH = 64


@dataclass(frozen=True)
class Run:
    strategy: str
    hyperparameters: dict[str, Any]


RUNS = [
    Run("zero_shot", {"max_length": MAX_LENGTH}),
    Run("frozen", {"max_length": MAX_LENGTH}),
    Run("few_shot", {"max_length": MAX_LENGTH}),
    Run("full", {"max_length": MAX_LENGTH, "epochs": 3, "learning_rate": 1e-4}),
    Run("lora", {"max_length": MAX_LENGTH, "epochs": 3}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=[run.strategy for run in RUNS])
    args = parser.parse_args()
    runs = [run for run in RUNS if not args.only or run.strategy in args.only]
    train = per_label(read_split("train"), PER_INTENT, seed=0)
    validation, test = read_split("validation"), read_split("test")
    rows = []
    with tempfile.TemporaryDirectory() as scratch, running_adaptd(Path(scratch) / "data") as client:
        train_id = upload_csv(client, "clinc150-train-subset", train)
        validation_id = upload_csv(client, "clinc150-validation", validation)
        for run in runs:
            row = _measure(client, run, train_id, validation_id, test)
            rows.append(row)
            print(row, flush=True)
    print(
        f"\nall-MiniLM-L6-v2 trained on {len(train)} CLINC150 rows ({PER_INTENT} per intent); "
        f"validation split {len(validation)} rows, test split {len(test)} rows; "
        "texts/s measured by the server while scoring the validation split in batches of 64\n"
    )
    print(
        "| strategy | validation acc | onnx | int8 | int8 change | int8 agreement | texts/s | "
        "onnx texts/s | int8 texts/s | test in-scope acc | int8 | int8 change |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


def _measure(
    client: httpx.Client,
    run: Run,
    train_id: str,
    validation_id: str,
    test: list[dict[str, str]],
) -> str:
    answer = client.post(
        "/v1/jobs",
        json={
            "strategy": run.strategy,
            "dataset_id": train_id,
            "validation_dataset_id": validation_id,
            "hyperparameters": run.hyperparameters,
        },
    )
    answer.raise_for_status()
    job = wait_for_job(client, answer.json()["id"])
    if job["status"] != "succeeded":
        raise SystemExit(f"{run.strategy}: job ended {job['status']}: {job['error']}")
    model_id = str(job["model_id"])
    texts, truth = [row["text"] for row in test], [row["label"] for row in test]
    as_trained = score(truth, predict_all(client, model_id, texts))
    graph = accelerate(client, model_id, "onnx")
    report = accelerate(client, model_id, "int8")
    int8 = score(truth, predict_all(client, model_id, texts))
    reference, onnx, quantized = report["reference"], graph["accelerated"], report["accelerated"]
    return (
        f"| {run.strategy} | {100 * reference['accuracy']:.1f} | {100 * onnx['accuracy']:.1f} | "
        f"{100 * quantized['accuracy']:.1f} | {100 * report['accuracy_change']:+.1f} | "
        f"{100 * report['agreement']:.1f}% | {reference['texts_per_second']:.0f} | "
        f"{onnx['texts_per_second']:.0f} | {quantized['texts_per_second']:.0f} | "
        f"{100 * as_trained.in_scope_accuracy:.1f} | {100 * int8.in_scope_accuracy:.1f} | "
        f"{100 * (int8.in_scope_accuracy - as_trained.in_scope_accuracy):+.1f} |"
    )


if __name__ == "__main__":
    main()
