"""Which strategy fits a dataset: what `auto` picks, and what each strategy refuses."""

import statistics
from collections.abc import Mapping

from app.ml.strategies import Strategy, spec_of

FEW_SHOT_MAX_PER_LABEL = 64


def median_per_label(label_counts: Mapping[str, int]) -> float:
    return float(statistics.median(label_counts.values())) if label_counts else 0.0


def contestants(label_counts: Mapping[str, int]) -> list[Strategy]:
    """The strategies `auto` measures on a dataset with these counts, cheapest first; `frozen`
    always, as the floor."""
    median = median_per_label(label_counts)
    chosen = [Strategy.frozen]
    if median <= FEW_SHOT_MAX_PER_LABEL and refusal(Strategy.few_shot, label_counts) is None:
        chosen.append(Strategy.few_shot)
    chosen.extend(s for s in (Strategy.lora, Strategy.full) if refusal(s, label_counts) is None)
    return chosen


def choose(label_counts: Mapping[str, int] | None, budget_seconds: int) -> tuple[Strategy, str]:
    """The strategy an `auto` job starts with, and why, in words a user can check against the
    dataset: `zero_shot` without examples, else `frozen` until the measurements decide."""
    if not label_counts:
        return Strategy.zero_shot, "no training examples: labels are matched to their descriptions"
    median = median_per_label(label_counts)
    size = f"{len(label_counts)} labels with a median of {median:g} examples per label"
    others = [f"`{s}`" for s in contestants(label_counts)[1:]]
    measured = f", then measures {', '.join(others)}" if others else ""
    return (
        Strategy.frozen,
        f"{size}: `auto` fits `frozen` first{measured} within {budget_seconds} s and keeps the "
        "run with the best validation score; the job's strategy becomes the winner",
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
