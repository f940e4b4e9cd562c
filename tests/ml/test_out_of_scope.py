import numpy as np
import pytest

from app.ml.data import LabeledExample
from app.ml.evaluation import evaluation_report
from app.ml.out_of_scope import choose_threshold, out_of_scope_label, threshold_sweep

LABELS = ["billing", "greeting", "oos"]


def examples_and_scores() -> tuple[list[LabeledExample], np.ndarray]:
    """Confident right in-scope answers, one unsure right one, and out-of-scope texts that
    the model scores low (two) or labels `oos` (one)."""
    rows = [
        ("refund me", "billing", [0.9, 0.05, 0.05]),
        ("charged twice", "billing", [0.8, 0.1, 0.1]),
        ("hello", "greeting", [0.1, 0.85, 0.05]),
        ("hi there", "greeting", [0.3, 0.45, 0.25]),
        ("what is the weather", "oos", [0.4, 0.35, 0.25]),
        ("tell me a joke", "oos", [0.3, 0.38, 0.32]),
        ("book a flight", "oos", [0.1, 0.1, 0.8]),
    ]
    examples = [LabeledExample.of(text, label) for text, label, _ in rows]
    return examples, np.array([scores for _, _, scores in rows])


def test_out_of_scope_label_is_found_by_its_common_names() -> None:
    assert out_of_scope_label(["a", "OOS"]) == "OOS"
    assert out_of_scope_label(["out_of_scope", "b"]) == "out_of_scope"
    assert out_of_scope_label(["other", "b"]) is None


def test_threshold_sweep_trades_in_scope_accuracy_for_out_of_scope_recall() -> None:
    examples, scores = examples_and_scores()

    sweep = {row["threshold"]: row for row in threshold_sweep(LABELS, examples, scores, "oos")}

    assert sweep[0.0] == {
        "threshold": 0.0,
        "in_scope_accuracy": 1.0,
        "in_scope_abstained": 0.0,
        "out_of_scope_recall": pytest.approx(1 / 3),
        "out_of_scope_precision": 1.0,
    }
    assert sweep[0.42]["out_of_scope_recall"] == 1.0
    assert sweep[0.42]["in_scope_accuracy"] == 1.0
    assert sweep[0.5]["in_scope_accuracy"] == 0.75
    assert sweep[0.5]["out_of_scope_precision"] == 0.75


def test_chosen_threshold_catches_most_out_of_scope_within_a_point_of_accuracy() -> None:
    examples, scores = examples_and_scores()

    chosen = choose_threshold(threshold_sweep(LABELS, examples, scores, "oos"))

    assert chosen == 0.42
    in_scope_only = threshold_sweep(LABELS[:2], examples[:4], scores[:4, :2], None)
    assert choose_threshold(in_scope_only) is None
    assert "out_of_scope_recall" not in in_scope_only[0]


def test_single_label_evaluation_reports_the_sweep_and_the_out_of_scope_label() -> None:
    examples, scores = examples_and_scores()

    report = evaluation_report(LABELS, examples, scores, multi_label=False)

    assert report["out_of_scope_label"] == "oos"
    assert len(report["threshold_sweep"]) == 50
    assert report["threshold_sweep"][0]["out_of_scope_recall"] == pytest.approx(1 / 3)
