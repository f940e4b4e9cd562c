"""How many of the encoder's last layers a `frozen` head should read, on CLINC150: a logistic
regression (the `frozen` strategy's L-BFGS fit and L2 penalties, the penalty chosen on the
validation split) on each layer's mean-pooled token states, each normalised, side by side.
One layer is the sentence embedding. `oos` is a class; scored on the test split, on the
whole train split and on 10 examples per intent.

    python -m benchmarks.feature_layers
"""

import random
import time

import torch

from app.ml.frozen import LOGISTIC_L2
from app.ml.linear_probe import logistic_regression
from app.ml.sentence import Features
from benchmarks.common import OUT_OF_SCOPE, read_split
from benchmarks.heads import embeddings

SHOTS = 10
MOST = Features(6)
"""The last six layers of every text; fewer layers are the last columns of these."""


def shots(targets: torch.Tensor) -> list[int]:
    rows: dict[int, list[int]] = {}
    for index, label in enumerate(targets.tolist()):
        rows.setdefault(label, []).append(index)
    draw = random.Random(0)
    return sorted(
        i for chosen in rows.values() for i in draw.sample(chosen, min(SHOTS, len(chosen)))
    )


def main() -> None:
    splits = {name: read_split(name) for name in ("train", "validation", "test")}
    labels = sorted({row["label"] for row in splits["train"]})
    x = {
        name: embeddings(name, [row["text"] for row in rows], MOST) for name, rows in splits.items()
    }
    y = {
        name: torch.tensor([labels.index(row["label"]) for row in rows])
        for name, rows in splits.items()
    }
    oos = labels.index(OUT_OF_SCOPE)
    in_scope = y["test"] != oos
    width = x["train"].shape[1] // MOST.layers
    print("\nCLINC150, all-MiniLM-L6-v2, logistic regression, oos as a class\n")
    print(
        "| train data | layers read | dimension | L2 | validation acc | test in-scope acc |", end=""
    )
    print(" oos recall | fit s |")
    print("|---|---|---|---|---|---|---|---|")
    for data, rows in (("train split", None), (f"{SHOTS} per intent", shots(y["train"]))):
        for layers in (1, 2, 3, 4, 6):
            columns = slice(-layers * width, None)
            train_x = x["train"][:, columns] if rows is None else x["train"][rows, columns]
            train_y = y["train"] if rows is None else y["train"][rows]
            started = time.perf_counter()
            fits = []
            for l2 in LOGISTIC_L2[False]:
                linear = logistic_regression(
                    train_x, train_y, len(labels), multi_label=False, l2=l2
                )
                with torch.no_grad():
                    predicted = linear(x["validation"][:, columns]).argmax(1)
                fits.append((float((predicted == y["validation"]).float().mean()), l2, linear))
            seconds = time.perf_counter() - started
            validation, l2, linear = max(fits, key=lambda fit: fit[0])
            with torch.no_grad():
                predicted = linear(x["test"][:, columns]).argmax(1)
            accuracy = float((predicted == y["test"])[in_scope].float().mean())
            recall = float((predicted == oos)[~in_scope].float().mean())
            print(
                f"| {data} | {layers} | {layers * width} | {l2:g} | {100 * validation:.1f} | "
                f"{100 * accuracy:.1f} | {100 * recall:.1f} | {seconds:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
