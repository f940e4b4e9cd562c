"""Texts that belong to no label. A single-label model abstains when its best score is under a
threshold; the threshold sweep says, for every candidate threshold on labeled examples, what
abstaining costs in-scope and what it catches out of scope. Data may also carry an explicit
out-of-scope label (CLINC150's `oos`): its examples count as out of scope, and a prediction of
that label counts as catching one."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.ml.data import LabeledExample

OUT_OF_SCOPE_NAMES = frozenset({"oos", "out_of_scope", "out-of-scope", "outofscope"})
SWEEP = np.round(np.arange(0.0, 1.0, 0.02), 2)
MAX_IN_SCOPE_DROP = 0.01


def out_of_scope_label(labels: Sequence[str]) -> str | None:
    """The label that names out-of-scope texts, if the labels have one by a common name."""
    return next((label for label in labels if label.lower() in OUT_OF_SCOPE_NAMES), None)


def threshold_sweep(
    labels: Sequence[str],
    examples: Sequence[LabeledExample],
    probabilities: np.ndarray,
    out_of_scope: str | None,
) -> list[dict[str, Any]]:
    """Per threshold: in-scope accuracy (an abstention is wrong), the share of in-scope texts
    abstained on, and, where the examples hold out-of-scope ones, their recall and the
    precision of calling a text out of scope (abstaining or predicting the label)."""
    best = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    truth = np.array([example.label for example in examples])
    predicted = np.array(labels)[best] if len(examples) else np.array([])
    outside = truth == out_of_scope if out_of_scope else np.zeros(len(examples), dtype=bool)
    inside = ~outside
    rows = []
    for threshold in SWEEP:
        abstained = confidence < threshold
        called_outside = abstained | (predicted == out_of_scope if out_of_scope else False)
        row: dict[str, Any] = {
            "threshold": float(threshold),
            "in_scope_accuracy": _share(inside, (predicted == truth) & ~abstained),
            "in_scope_abstained": _share(inside, abstained),
        }
        if outside.any():
            row["out_of_scope_recall"] = _share(outside, called_outside)
            row["out_of_scope_precision"] = _share(called_outside, outside)
        rows.append(row)
    return rows


def choose_threshold(sweep: Sequence[dict[str, Any]]) -> float | None:
    """The threshold that catches the most out-of-scope examples while in-scope accuracy
    stays within a point of not abstaining at all; None without out-of-scope examples to
    measure it on (abstaining is then the caller's choice)."""
    if not sweep or "out_of_scope_recall" not in sweep[0]:
        return None
    floor = sweep[0]["in_scope_accuracy"] - MAX_IN_SCOPE_DROP
    allowed = [row for row in sweep if row["in_scope_accuracy"] >= floor]
    best = max(allowed, key=lambda row: (row["out_of_scope_recall"], -row["threshold"]))
    threshold: float = best["threshold"]
    return threshold or None


def _share(among: np.ndarray, hits: np.ndarray) -> float:
    count = int(among.sum())
    return float((among & hits).sum() / count) if count else 0.0
