import pytest
from pydantic import ValidationError

from app.ml.arguments import FullFineTuneArguments, LoraArguments, ZeroShotArguments
from app.ml.recipes import DataShape
from app.ml.strategies import SPECS, Strategy, arguments_for, spec_of
from app.schemas.hyperparameters import HYPERPARAMETERS


def test_every_strategy_has_one_record_and_a_hyperparameter_schema() -> None:
    assert set(SPECS) == set(HYPERPARAMETERS) == set(Strategy)
    assert all(spec.strategy is strategy for strategy, spec in SPECS.items())


@pytest.mark.parametrize("strategy", list(Strategy))
def test_hyperparameter_schema_has_a_described_optional_field_per_argument(
    strategy: Strategy,
) -> None:
    schema = HYPERPARAMETERS[strategy].model_json_schema()
    defaults = spec_of(strategy).arguments().to_dict()

    assert set(schema["properties"]) == set(defaults)
    assert all(field.get("description") for field in schema["properties"].values())
    assert not schema.get("required")
    assert HYPERPARAMETERS[strategy]().model_dump(exclude_none=True) == {}


@pytest.mark.parametrize(
    ("strategy", "given"),
    [
        (Strategy.full, {"epochs": 0}),
        (Strategy.full, {"epochs": 101}),
        (Strategy.full, {"early_stopping_metric": "recall"}),
        (Strategy.lora, {"target_modules": []}),
        (Strategy.frozen, {"r": 4}),
        (Strategy.zero_shot, {"seed": 3}),
        (Strategy.zero_shot, {"scale": 0}),
    ],
)
def test_hyperparameter_schema_refuses_what_the_arguments_do_not_take(
    strategy: Strategy, given: dict[str, object]
) -> None:
    with pytest.raises(ValidationError):
        HYPERPARAMETERS[strategy].model_validate(given)


def test_arguments_take_given_values_over_defaults_and_lists_as_tuples() -> None:
    arguments = arguments_for("lora", {"r": 4, "target_modules": ["query"], "alpha": None})

    assert arguments == LoraArguments(r=4, target_modules=("query",))
    assert arguments_for("full", {}) == FullFineTuneArguments()
    assert arguments_for("zero_shot", {"scale": 5.0}) == ZeroShotArguments(scale=5.0)
    assert arguments_for("full", {"early_stopping_patience": None}).early_stopping_patience is None
    assert arguments_for("full", {"epochs": None}) == FullFineTuneArguments()


def test_defaults_scale_with_the_data_and_given_values_win() -> None:
    spec = spec_of(Strategy.full)
    small, large = DataShape(examples=120, labels=3), DataShape(examples=15_000, labels=150)

    assert spec.arguments_of({}, small).epochs == 30
    assert spec.arguments_of({}, large).epochs == 4
    assert spec.arguments_of({"epochs": 2}, large).epochs == 2
    assert spec_of(Strategy.frozen).arguments_of({}, DataShape(80, 4)).epochs == 1500
    assert spec_of(Strategy.frozen).arguments_of({}, large).epochs == 40


def test_settings_that_will_clearly_under_train_are_named_in_a_warning() -> None:
    spec = spec_of(Strategy.frozen)
    shape = DataShape(examples=80, labels=4)

    warnings = spec.warnings(shape, spec.arguments_of({"epochs": 2}, shape))

    assert len(warnings) == 1
    assert "epochs 2 at batch_size 64 is 4 optimizer steps on 80 examples" in warnings[0]
    assert "leave epochs out to train 1500 epochs" in warnings[0]
    assert spec.warnings(shape, spec.arguments_of({}, shape)) == []


def test_only_strategies_that_train_hold_out_validation_examples() -> None:
    training = {strategy for strategy, spec in SPECS.items() if spec.trains_on_examples}

    assert training == set(Strategy) - {Strategy.zero_shot}
    assert {s for s, spec in SPECS.items() if spec.export} == {Strategy.full, Strategy.lora}


def test_small_data_fine_tunes_on_smaller_batches_unless_a_batch_size_is_given() -> None:
    spec = spec_of(Strategy.full)
    walkthrough, medium = DataShape(examples=32, labels=3), DataShape(examples=2000, labels=20)

    small = spec.arguments_of({}, walkthrough)
    given = spec.arguments_of({"batch_size": 32}, walkthrough)

    assert (small.batch_size, small.epochs) == (8, 30)
    assert (given.batch_size, given.epochs) == (32, 30)
    assert spec.arguments_of({}, medium).batch_size == 32
    assert spec.warnings(walkthrough, small) == [
        "32 training examples are few for fine-tuning the whole encoder: 30 epochs at "
        "batch_size 8 are 120 optimizer steps; `frozen` and `few_shot` usually score better on "
        "this little data (`auto` measures them)"
    ]
    assert (
        "leave epochs out"
        in spec.warnings(walkthrough, spec.arguments_of({"epochs": 3}, walkthrough))[0]
    )
