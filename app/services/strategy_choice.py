"""Which strategy fits a dataset: what `auto` picks, and what each strategy refuses."""

import statistics
from collections.abc import Mapping

from app.ml.strategies import Strategy, spec_of

FEW_SHOT_MAX_PER_LABEL = 64


def median_per_label(label_counts: Mapping[str, int]) -> float:
    return float(statistics.median(label_counts.values())) if label_counts else 0.0


def choose(label_counts: Mapping[str, int] | None, budget: str) -> tuple[Strategy, str]:
    """The strategy `auto` runs, and why, in words a user can check against the dataset."""
    if not label_counts:
        return Strategy.zero_shot, "no training examples: labels are matched to their descriptions"
    median = median_per_label(label_counts)
    size = f"{len(label_counts)} labels with a median of {median:g} examples per label"
    if budget == "low":
        return (
            Strategy.frozen,
            f"{size} and a low budget: only a head is trained on cached embeddings",
        )
    if median <= FEW_SHOT_MAX_PER_LABEL:
        return (
            Strategy.few_shot,
            f"{size} (at most {FEW_SHOT_MAX_PER_LABEL}): contrastive few-shot adaptation "
            "makes the most of a handful of examples",
        )
    if budget == "high":
        return Strategy.full, f"{size} and a high budget: every encoder weight is fine-tuned"
    return (
        Strategy.lora,
        f"{size} and a standard budget: LoRA adapters come near full fine-tuning "
        "with a small artifact",
    )


def refusal(strategy: Strategy, label_counts: Mapping[str, int]) -> str | None:
    """Why `strategy` does not fit a dataset with these counts, with what to use instead."""
    spec, median = spec_of(strategy), median_per_label(label_counts)
    shape = f"the dataset has a median of {median:g} examples per label"
    fewest = spec.min_median_per_label
    if fewest is not None and median < fewest:
        return (
            f"{shape}; `{strategy}` needs at least {fewest} per label to train reliably. Use "
            f"`few_shot` (2-{FEW_SHOT_MAX_PER_LABEL} examples per label), `zero_shot`, or `auto`"
        )
    most = spec.max_median_per_label
    if most is not None and median > most:
        return (
            f"{shape}; `{strategy}` is for 2-{FEW_SHOT_MAX_PER_LABEL} per label and would be "
            "slow here. Use `frozen`, `lora` or `full`, or `auto`"
        )
    return None
