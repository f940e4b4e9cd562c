import pytest

from app.services.strategy_choice import choose, refusal


@pytest.mark.parametrize(
    ("counts", "budget", "expected"),
    [
        (None, "standard", "zero_shot"),
        ({}, "high", "zero_shot"),
        ({"a": 3, "b": 4}, "standard", "few_shot"),
        ({"a": 3, "b": 4}, "high", "few_shot"),
        ({"a": 3, "b": 4}, "low", "frozen"),
        ({"a": 64, "b": 64}, "standard", "few_shot"),
        ({"a": 65, "b": 100, "c": 2000}, "standard", "lora"),
        ({"a": 100, "b": 100}, "high", "full"),
        ({"a": 5000, "b": 5000}, "low", "frozen"),
    ],
)
def test_auto_chooses_from_examples_per_label_and_budget(
    counts: dict[str, int] | None, budget: str, expected: str
) -> None:
    strategy, reason = choose(counts, budget)

    assert strategy == expected
    assert reason


def test_auto_reason_names_the_shape_of_the_data() -> None:
    _, reason = choose({"a": 10, "b": 30, "c": 20}, "standard")

    assert "3 labels with a median of 20 examples per label" in reason


@pytest.mark.parametrize(
    ("strategy", "counts", "refused"),
    [
        ("full", {"a": 3, "b": 3}, True),
        ("lora", {"a": 4, "b": 40, "c": 2}, True),
        ("full", {"a": 5, "b": 5}, False),
        ("few_shot", {"a": 300, "b": 300}, True),
        ("few_shot", {"a": 2, "b": 2}, False),
        ("frozen", {"a": 2, "b": 2}, False),
        ("frozen", {"a": 9000, "b": 9000}, False),
    ],
)
def test_strategy_refuses_data_it_does_not_fit(
    strategy: str, counts: dict[str, int], refused: bool
) -> None:
    assert (refusal(strategy, counts) is not None) == refused
