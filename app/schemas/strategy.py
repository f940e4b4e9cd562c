from typing import Any

from pydantic import BaseModel, Field

from app.ml.strategies import Strategy


class StrategyPublic(BaseModel):
    strategy: Strategy
    summary: str
    hyperparameters: dict[str, Any] = Field(
        description="JSON Schema of the hyperparameters a job of this strategy takes: each "
        "one's type, bounds, default and what it controls. Defaults marked as scaling are "
        "set from the job's data, and the job shows the values it used."
    )
    continues_from_model: bool = Field(description="A job may give `init_from_model`.")
    needs_dataset: bool = Field(description="False: label descriptions alone suffice.")
    exports_standalone: bool = Field(
        description="Downloads and `adaptd export-model` give a standalone transformers model."
    )


class StrategiesPublic(BaseModel):
    data: list[StrategyPublic]
    has_more: bool = False
