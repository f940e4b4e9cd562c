from collections.abc import Sequence

from sklearn.metrics import accuracy_score, f1_score


def classification_metrics(
    true_labels: Sequence[str], predicted_labels: Sequence[str], loss: float
) -> dict[str, float]:
    return {
        "accuracy": float(accuracy_score(true_labels, predicted_labels)),
        "macro_f1": float(
            f1_score(true_labels, predicted_labels, average="macro", zero_division=0)
        ),
        "loss": loss,
    }
