"""The evaluation report of a classifier on labeled examples, and multi-label thresholds."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support

from app.ml.data import LabeledExample
from app.ml.out_of_scope import out_of_scope_label, threshold_sweep

CALIBRATION_BINS = 10
TOP_CONFUSIONS = 10
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.05), 2)


def evaluation_report(
    labels: Sequence[str],
    examples: Sequence[LabeledExample],
    probabilities: np.ndarray,
    *,
    multi_label: bool,
    thresholds: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Accuracy, macro/micro F1, per-label scores, confusions and calibration, and for
    single-label models the abstention threshold sweep.

    Single-label predictions are the best-scoring label; multi-label predictions are every
    label at or above its threshold (0.5 where none is given). Accuracy of multi-label data is
    the share of examples whose predicted label set is exactly right.
    """
    truth = _multi_hot(labels, examples)
    abstention: dict[str, Any] = {}
    if multi_label:
        cutoffs = np.asarray(thresholds if thresholds is not None else [0.5] * len(labels))
        predicted = (probabilities >= cutoffs).astype(int)
        accuracy = float((predicted == truth).all(axis=1).mean()) if len(examples) else 0.0
        confusion = _per_label_confusion(labels, truth, predicted)
        calibration = _calibration(probabilities.ravel(), truth.ravel())
    else:
        best = probabilities.argmax(axis=1)
        predicted = np.eye(len(labels), dtype=int)[best]
        true_index = truth.argmax(axis=1)
        accuracy = float((best == true_index).mean()) if len(examples) else 0.0
        confusion = _confusion_matrix(labels, true_index, best)
        calibration = _calibration(probabilities.max(axis=1), (best == true_index).astype(float))
        outside = out_of_scope_label(labels)
        abstention = {
            "out_of_scope_label": outside,
            "threshold_sweep": threshold_sweep(labels, examples, probabilities, outside),
        }
    return {
        "num_examples": len(examples),
        "multi_label": multi_label,
        "accuracy": accuracy,
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(truth, predicted, average="micro", zero_division=0)),
        "per_label": _per_label_scores(labels, truth, predicted),
        **confusion,
        **calibration,
        **abstention,
    }


def tune_thresholds(
    labels: Sequence[str], examples: Sequence[LabeledExample], probabilities: np.ndarray
) -> list[float]:
    """Per label, the cut-off on the grid with the best F1 on these examples; 0.5 for a label
    that never occurs in them."""
    truth = _multi_hot(labels, examples)
    thresholds = []
    for column in range(len(labels)):
        if not truth[:, column].any():
            thresholds.append(0.5)
            continue
        scores = [
            f1_score(truth[:, column], probabilities[:, column] >= cutoff, zero_division=0)
            for cutoff in THRESHOLD_GRID
        ]
        thresholds.append(float(THRESHOLD_GRID[int(np.argmax(scores))]))
    return thresholds


def _multi_hot(labels: Sequence[str], examples: Sequence[LabeledExample]) -> np.ndarray:
    index = {label: position for position, label in enumerate(labels)}
    truth = np.zeros((len(examples), len(labels)), dtype=int)
    for row, example in enumerate(examples):
        for label in example.labels:
            if label in index:
                truth[row, index[label]] = 1
    return truth


def _per_label_scores(
    labels: Sequence[str], truth: np.ndarray, predicted: np.ndarray
) -> dict[str, dict[str, float]]:
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, average=None, zero_division=0
    )
    return {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }


def _confusion_matrix(
    labels: Sequence[str], true_index: np.ndarray, predicted_index: np.ndarray
) -> dict[str, Any]:
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(matrix, (true_index, predicted_index), 1)
    off_diagonal = [
        (int(matrix[t, p]), labels[t], labels[p])
        for t, p in zip(*np.nonzero(matrix), strict=True)
        if t != p
    ]
    off_diagonal.sort(key=lambda item: (-item[0], item[1], item[2]))
    return {
        "confusion_matrix": {"labels": list(labels), "matrix": matrix.tolist()},
        "top_confusions": [
            {"true": true, "predicted": predicted, "count": count}
            for count, true, predicted in off_diagonal[:TOP_CONFUSIONS]
        ],
    }


def _per_label_confusion(
    labels: Sequence[str], truth: np.ndarray, predicted: np.ndarray
) -> dict[str, Any]:
    counts = {
        label: {
            "true_positive": int(((truth[:, i] == 1) & (predicted[:, i] == 1)).sum()),
            "false_positive": int(((truth[:, i] == 0) & (predicted[:, i] == 1)).sum()),
            "false_negative": int(((truth[:, i] == 1) & (predicted[:, i] == 0)).sum()),
            "true_negative": int(((truth[:, i] == 0) & (predicted[:, i] == 0)).sum()),
        }
        for i, label in enumerate(labels)
    }
    return {"label_confusion": counts}


def _calibration(confidence: np.ndarray, correct: np.ndarray) -> dict[str, Any]:
    """The reliability diagram over equal-width confidence bins (each non-empty bin's range,
    size, mean confidence and accuracy) and the expected calibration error: the mean
    |accuracy - confidence| over the bins, weighted by bin size."""
    index = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    bins, error = [], 0.0
    for b in range(CALIBRATION_BINS):
        members = index == b
        if not members.any():
            continue
        accuracy, mean_confidence = (
            float(correct[members].mean()),
            float(confidence[members].mean()),
        )
        error += members.mean() * abs(accuracy - mean_confidence)
        bins.append(
            {
                "lower": b / CALIBRATION_BINS,
                "upper": (b + 1) / CALIBRATION_BINS,
                "count": int(members.sum()),
                "confidence": mean_confidence,
                "accuracy": accuracy,
            }
        )
    return {"expected_calibration_error": float(error), "calibration_bins": bins}


def validation_summary(
    labels: Sequence[str],
    examples: Sequence[LabeledExample],
    probabilities: np.ndarray,
    *,
    multi_label: bool,
) -> tuple[dict[str, float], list[float] | None]:
    """The headline validation scores, and for multi-label data the thresholds tuned on it."""
    thresholds = tune_thresholds(labels, examples, probabilities) if multi_label else None
    report = evaluation_report(
        labels, examples, probabilities, multi_label=multi_label, thresholds=thresholds
    )
    scores = {name: report[name] for name in ("accuracy", "macro_f1", "micro_f1")}
    return scores | {"loss": _loss(labels, examples, probabilities, multi_label)}, thresholds


def _loss(
    labels: Sequence[str],
    examples: Sequence[LabeledExample],
    probabilities: np.ndarray,
    multi_label: bool,
) -> float:
    if not len(examples):
        return 0.0
    truth = _multi_hot(labels, examples)
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    if multi_label:
        return float(-(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped)).mean())
    return float(-np.log(clipped[truth.astype(bool)]).mean())
