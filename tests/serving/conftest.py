import pytest

from app.ml.predictor import Predictor
from app.serving.encoders import SharedEncoders
from tests.strategy_models import SMALL_RUNS, train_and_save


@pytest.fixture(scope="module")
def shared_encoders() -> SharedEncoders:
    return SharedEncoders()


@pytest.fixture(scope="module")
def predictors(
    tiny_model_path: str, tmp_path_factory: pytest.TempPathFactory, shared_encoders: SharedEncoders
) -> dict[str, Predictor]:
    """One saved model per strategy, loaded as the server loads them (on shared bases), plus
    a second frozen model on the same base."""
    root = tmp_path_factory.mktemp("models")
    loaded = {
        strategy: train_and_save(
            strategy,
            tiny_model_path,
            root / strategy,
            encoders=shared_encoders,
            lora_bases=shared_encoders.lora_base,
            **options,
        )
        for strategy, options in SMALL_RUNS.items()
    }
    loaded["frozen_b"] = train_and_save(
        "frozen", tiny_model_path, root / "frozen_b", encoders=shared_encoders, epochs=1, seed=7
    )
    return loaded
