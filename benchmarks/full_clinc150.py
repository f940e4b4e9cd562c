"""Full fine-tuning of the default base model on CLINC150, through the HTTP API.

Starts `adaptd serve` on an empty data directory (embedded default: SQLite, local runner),
uploads the train split, trains a `full` job, scores the test split through the predict
endpoint and prints one table next to the published BERT-base figures.

    python benchmarks/full_clinc150.py --epochs 3
"""

import argparse
import csv
import io
import tempfile
import time
from pathlib import Path

from benchmarks.common import predict_all, read_split, running_adaptd, score, wait_for_job

PUBLISHED = [
    ("BERT-base, oos as a class (Larson et al. 2019)", 96.9, 40.3),
    ("BERT-base, oos by threshold (Larson et al. 2019)", 96.2, 52.3),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--train-limit", type=int, default=None, help="first N train rows only")
    args = parser.parse_args()

    train = read_split("train")[: args.train_limit]
    labels = {row["label"] for row in train}
    validation_rows = [row for row in read_split("validation") if row["label"] in labels]
    test = read_split("test")
    with tempfile.TemporaryDirectory() as scratch, running_adaptd(Path(scratch) / "data") as client:
        started = time.perf_counter()
        dataset = client.post(
            "/v1/datasets", files={"file": ("clinc150-train.csv", _csv(train), "text/csv")}
        ).json()
        validation = client.post(
            "/v1/datasets",
            files={"file": ("clinc150-validation.csv", _csv(validation_rows), "text/csv")},
        ).json()
        job = client.post(
            "/v1/jobs",
            json={
                "dataset_id": dataset["id"],
                "validation_dataset_id": validation["id"],
                "strategy": "full",
                "hyperparameters": {
                    "epochs": args.epochs,
                    "batch_size": args.batch_size,
                    "learning_rate": args.learning_rate,
                    "max_length": args.max_length,
                },
            },
        ).json()
        finished = wait_for_job(client, job["id"])
        wall = time.perf_counter() - started
        if finished["status"] != "succeeded":
            raise SystemExit(f"job ended {finished['status']}: {finished['error']}")
        predicted = predict_all(client, str(finished["model_id"]), [r["text"] for r in test])
        model = client.get(f"/v1/models/{finished['model_id']}").json()

    scores = score([r["label"] for r in test], predicted)
    metrics = finished["metrics"]
    assert isinstance(metrics, dict)
    print(
        f"\nCLINC150 test split ({len(test)} rows), full fine-tuning of all-MiniLM-L6-v2, "
        f"{args.epochs} epochs, batch {args.batch_size}, lr {args.learning_rate}, "
        f"max_length {args.max_length}, device {finished['device']}\n"
    )
    print(
        "| model | in-scope acc | oos recall | macro-F1 | wall time | train samples/s | artifact |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| adaptd full, all-MiniLM-L6-v2 (22.7M) | {100 * scores.in_scope_accuracy:.1f} | "
        f"{100 * scores.oos_recall:.1f} | {100 * scores.macro_f1:.1f} | {wall:.0f} s "
        f"(training {metrics['train_seconds']:.0f} s) | "
        f"{metrics['train_samples_per_second']:.1f} | "
        f"{model['size_bytes'] / 1e6:.1f} MB |"
    )
    for name, accuracy, recall in PUBLISHED:
        print(f"| {name} (110M) | {accuracy} | {recall} | - | - | - | - |")


def _csv(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["text", "label"])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
