import numpy as np
import pytest

from app.ml.data import LabeledExample
from app.ml.evaluation import evaluation_report, tune_thresholds

LABELS = ["a", "b", "c"]


def test_report_matches_a_hand_computed_confusion_matrix() -> None:
    truth = ["a", "a", "a", "b", "b", "c"]
    # predicted:  a    a    b    b    c    c
    probabilities = np.array(
        [
            [0.9, 0.05, 0.05],
            [0.6, 0.3, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.8, 0.1],
            [0.3, 0.3, 0.4],
            [0.0, 0.1, 0.9],
        ]
    )
    examples = [LabeledExample.of(f"t{i}", label) for i, label in enumerate(truth)]

    report = evaluation_report(LABELS, examples, probabilities, multi_label=False)

    assert report["confusion_matrix"] == {
        "labels": LABELS,
        "matrix": [[2, 1, 0], [0, 1, 1], [0, 0, 1]],
    }
    assert report["accuracy"] == pytest.approx(4 / 6)
    # precision a=2/2, b=1/2, c=1/2; recall a=2/3, b=1/2, c=1/1
    assert report["per_label"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3}
    )
    assert report["per_label"]["b"]["f1"] == pytest.approx(0.5)
    assert report["per_label"]["c"]["f1"] == pytest.approx(2 / 3)
    assert report["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert report["micro_f1"] == pytest.approx(4 / 6)
    assert report["top_confusions"] == [
        {"true": "a", "predicted": "b", "count": 1},
        {"true": "b", "predicted": "c", "count": 1},
    ]
    # bins: 0.9,0.9 -> [0.9,1) both right; 0.6,0.7 -> one right each bin; 0.8 right; 0.4 wrong
    expected_ece = (
        2 / 6 * abs(1.0 - 0.9)
        + 1 / 6 * abs(1 - 0.6)
        + 1 / 6 * abs(0 - 0.7)
        + 1 / 6 * abs(1 - 0.8)
        + 1 / 6 * abs(0 - 0.4)
    )
    assert report["expected_calibration_error"] == pytest.approx(expected_ece)
    reliability = [
        (b["lower"], b["count"], b["confidence"], b["accuracy"]) for b in report["calibration_bins"]
    ]
    assert reliability == [
        (0.4, 1, pytest.approx(0.4), 0.0),
        (0.6, 1, pytest.approx(0.6), 1.0),
        (0.7, 1, pytest.approx(0.7), 0.0),
        (0.8, 1, pytest.approx(0.8), 1.0),
        (0.9, 2, pytest.approx(0.9), 1.0),
    ]


def test_multi_label_report_counts_each_label_and_exact_matches() -> None:
    examples = [
        LabeledExample.of("x", ["a", "b"]),
        LabeledExample.of("y", ["b"]),
        LabeledExample.of("z", []),
    ]
    probabilities = np.array([[0.9, 0.8, 0.1], [0.75, 0.7, 0.2], [0.1, 0.2, 0.3]])

    report = evaluation_report(
        LABELS, examples, probabilities, multi_label=True, thresholds=[0.7, 0.5, 0.5]
    )

    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["label_confusion"]["a"] == {
        "true_positive": 1,
        "false_positive": 1,
        "false_negative": 0,
        "true_negative": 1,
    }
    assert report["per_label"]["b"]["support"] == 2
    assert "confusion_matrix" not in report


def test_thresholds_are_tuned_per_label() -> None:
    examples = [LabeledExample.of("x", ["a"]), LabeledExample.of("y", ["b"])]
    probabilities = np.array([[0.32, 0.9], [0.2, 0.95]])

    thresholds = tune_thresholds(LABELS, examples, probabilities)

    assert 0.2 < thresholds[0] <= 0.32
    assert thresholds[2] == 0.5
