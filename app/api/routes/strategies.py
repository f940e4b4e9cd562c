from fastapi import APIRouter

from app.api.deps import ReadKey
from app.ml.strategies import SPECS
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.hyperparameters import HYPERPARAMETERS
from app.schemas.strategy import StrategiesPublic, StrategyPublic

router = APIRouter(prefix="/strategies", tags=["strategies"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=StrategiesPublic)
def list_strategies(_key: ReadKey) -> StrategiesPublic:
    """Every strategy a job may ask for (besides `auto`, which picks one of them), with the
    hyperparameters it takes."""
    return StrategiesPublic(
        data=[
            StrategyPublic(
                strategy=strategy,
                summary=(spec.arguments.__doc__ or "").split("\n\n")[0].strip(),
                hyperparameters=HYPERPARAMETERS[strategy].model_json_schema(),
                continues_from_model=spec.continues_from_model,
                needs_dataset=spec.needs_dataset,
                exports_standalone=spec.export is not None,
            )
            for strategy, spec in SPECS.items()
        ]
    )
