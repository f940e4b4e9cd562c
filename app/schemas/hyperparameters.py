"""Per-strategy hyperparameters as the API accepts them, built from the strategy's arguments
dataclass in `app.ml.arguments`. Every field is optional: an omitted one takes the dataclass
default, and the job shows the values it actually used."""

import json
from dataclasses import MISSING, Field, fields
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from app.ml.arguments import HYPERPARAMETER, Bounds, StrategyArguments
from app.ml.strategies import SPECS, Strategy

STRATEGY_CHOICES = [*Strategy, "auto"]


def _known_strategy(value: object) -> object:
    if value not in STRATEGY_CHOICES:
        choices = ", ".join(f"'{choice}'" for choice in STRATEGY_CHOICES)
        raise ValueError(f"unknown strategy {value!r}; choose one of {choices}")
    return value


RequestedStrategy = Annotated[
    Strategy | Literal["auto"],
    BeforeValidator(_known_strategy),
    WithJsonSchema({"enum": [str(choice) for choice in STRATEGY_CHOICES], "type": "string"}),
]


class Hyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")


def schema_of(strategy: Strategy, arguments: type[StrategyArguments]) -> type[Hyperparameters]:
    """A pydantic model with one optional field per hyperparameter of `arguments`."""
    name = "".join(part.title() for part in strategy.value.split("_")) + "Hyperparameters"
    defaults = ", ".join(f"{f.name} {_default(f)}" for f in fields(arguments))
    return pydantic.create_model(
        name,
        __base__=Hyperparameters,
        __doc__=f"`{strategy.value}`; defaults: {defaults}.",
        **{f.name: _optional(f) for f in fields(arguments)},
    )


def _optional(field: Field[Any]) -> Any:
    bounds: Bounds = field.metadata[HYPERPARAMETER]
    annotation: Any = field.type
    description = f"{bounds.description} Default: {_default(field)}."
    return (
        annotation | None,
        pydantic.Field(default=None, description=description, **bounds.constraints()),
    )


def _default(field: Field[Any]) -> str:
    value = field.default
    if value is MISSING:
        return "required"
    return json.dumps(list(value) if isinstance(value, tuple) else value)


HYPERPARAMETERS: dict[Strategy, type[Hyperparameters]] = {
    strategy: schema_of(strategy, spec.arguments) for strategy, spec in SPECS.items()
}
