import pytest

from app.services.strategy_choice import choose, contestants, refusal


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"a": 3, "b": 4}, ["frozen", "few_shot"]),
        ({"a": 5, "b": 5}, ["frozen", "few_shot", "lora", "full"]),
        ({"a": 64, "b": 64}, ["frozen", "few_shot", "lora", "full"]),
        ({"a": 65, "b": 100, "c": 2000}, ["frozen", "lora", "full"]),
        ({"a": 5000, "b": 5000}, ["frozen", "lora", "full"]),
    ],
)
def test_auto_measures_every_strategy_that_fits_the_data_cheapest_first(
    counts: dict[str, int], expected: list[str]
) -> None:
    assert contestants(counts) == expected


@pytest.mark.parametrize("counts", [None, {}])
def test_auto_without_examples_matches_labels_to_descriptions(
    counts: dict[str, int] | None,
) -> None:
    assert choose(counts, 1800)[0] == "zero_shot"


def test_auto_starts_as_frozen_and_says_what_it_will_measure() -> None:
    strategy, reason = choose({"a": 10, "b": 30, "c": 20}, 1800)

    assert strategy == "frozen"
    assert "3 labels with a median of 20 examples per label" in reason
    assert "then measures `few_shot`, `lora`, `full` within 1800 s" in reason


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
