"""Which strategy fits a dataset: what `auto` picks, and what each strategy refuses."""

import statistics
from collections.abc import Mapping

FEW_SHOT_MAX_PER_LABEL = 64
FEW_SHOT_REFUSED_ABOVE = 256
FINE_TUNING_MIN_PER_LABEL = 5


def median_per_label(label_counts: Mapping[str, int]) -> float:
    return float(statistics.median(label_counts.values())) if label_counts else 0.0


def choose(label_counts: Mapping[str, int] | None, budget: str) -> tuple[str, str]:
    """The strategy `auto` runs, and why, in words a user can check against the dataset."""
    if not label_counts:
        return "zero_shot", "no training examples: labels are matched to their descriptions"
    median = median_per_label(label_counts)
    size = f"{len(label_counts)} labels with a median of {median:g} examples per label"
    if budget == "low":
        return "frozen", f"{size} and a low budget: only a head is trained on cached embeddings"
    if median <= FEW_SHOT_MAX_PER_LABEL:
        return (
            "few_shot",
            f"{size} (at most {FEW_SHOT_MAX_PER_LABEL}): contrastive few-shot adaptation "
            "makes the most of a handful of examples",
        )
    if budget == "high":
        return "full", f"{size} and a high budget: every encoder weight is fine-tuned"
    return (
        "lora",
        f"{size} and a standard budget: LoRA adapters come near full fine-tuning "
        "with a small artifact",
    )


def refusal(strategy: str, label_counts: Mapping[str, int]) -> str | None:
    """Why `strategy` does not fit a dataset with these counts, with what to use instead."""
    median = median_per_label(label_counts)
    if strategy in {"full", "lora"} and median < FINE_TUNING_MIN_PER_LABEL:
        return (
            f"the dataset has a median of {median:g} examples per label; `{strategy}` needs at "
            f"least {FINE_TUNING_MIN_PER_LABEL} per label to train reliably. Use `few_shot` "
            f"(2-{FEW_SHOT_MAX_PER_LABEL} examples per label), `zero_shot`, or `auto`"
        )
    if strategy == "few_shot" and median > FEW_SHOT_REFUSED_ABOVE:
        return (
            f"the dataset has a median of {median:g} examples per label; `few_shot` is for "
            f"2-{FEW_SHOT_MAX_PER_LABEL} per label and would be slow here. Use `frozen`, "
            "`lora` or `full`, or `auto`"
        )
    return None
