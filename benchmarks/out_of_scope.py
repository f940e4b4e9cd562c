"""Out-of-scope detection on CLINC150, through the HTTP API.

Trains a model with default hyperparameters on the train split (`oos` as a class), with the
validation split (which holds 100 `oos` texts) as its validation data, so training chooses the
model's `abstain_threshold` there. Then scores the test split (1,000 `oos` texts) with
`POST /v1/models/{id}/evaluate` and prints the test split's threshold sweep: in-scope accuracy
(an abstention counts as wrong) against out-of-scope recall and precision, with the row of the
threshold chosen on validation marked.

    python -m benchmarks.out_of_scope --strategy full
"""

import argparse
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import evaluate, read_split, running_adaptd, upload_csv, wait_for_job

SHOWN = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strategy", default="full")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, running_adaptd(Path(scratch) / "data") as client:
        train, validation, test = (
            upload_csv(client, f"clinc150-{name}", read_split(name))
            for name in ("train", "validation", "test")
        )
        answer = client.post(
            "/v1/jobs",
            json={
                "dataset_id": train,
                "strategy": args.strategy,
                "validation_dataset_id": validation,
            },
        )
        answer.raise_for_status()
        job = wait_for_job(client, answer.json()["id"])
        if job["status"] != "succeeded":
            raise SystemExit(f"the job ended {job['status']}: {job['error']}")
        model = client.get(f"/v1/models/{job['model_id']}").json()
        report = evaluate(client, model["id"], test)
    print_sweep(args.strategy, model["abstain_threshold"], report["threshold_sweep"])


def print_sweep(strategy: str, chosen: float | None, sweep: list[dict[str, Any]]) -> None:
    print(
        f"\nCLINC150 test split, `{strategy}` with default hyperparameters; abstain_threshold "
        f"chosen on the validation split: {chosen}\n"
    )
    print("| threshold | in-scope acc | in-scope abstained | oos recall | oos precision |")
    print("|---|---|---|---|---|")
    for row in sweep:
        threshold = row["threshold"]
        if threshold not in SHOWN and threshold != chosen:
            continue
        mark = " (chosen)" if threshold == chosen else ""
        print(
            f"| {threshold:.2f}{mark} | {100 * row['in_scope_accuracy']:.1f} "
            f"| {100 * row['in_scope_abstained']:.1f} "
            f"| {100 * row['out_of_scope_recall']:.1f} "
            f"| {100 * row['out_of_scope_precision']:.1f} |"
        )


if __name__ == "__main__":
    main()
