from pathlib import Path

import pytest
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

from app.ml.predictor import Predictor
from app.serving.encoders import SharedEncoders
from tests.strategy_models import SMALL_RUNS, train_and_save

TEXTS = ["refund my money", "hi", "my card was charged twice", "good morning to you"]


@pytest.fixture(scope="module")
def saved(tiny_model_path: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("int8")
    for strategy, options in SMALL_RUNS.items():
        train_and_save(strategy, tiny_model_path, root / strategy, **options)
    return {strategy: root / strategy for strategy in SMALL_RUNS}


@pytest.mark.parametrize("strategy", list(SMALL_RUNS))
def test_an_int8_model_answers_close_to_the_model_as_trained(
    saved: dict[str, Path], tiny_model_path: str, strategy: str
) -> None:
    shared = SharedEncoders()
    trained = Predictor.from_pretrained(saved[strategy], {"tiny": tiny_model_path})

    int8 = Predictor.from_pretrained(
        saved[strategy], {"tiny": tiny_model_path}, encoders=shared.int8, int8=True
    )

    torch.testing.assert_close(
        int8.probabilities(TEXTS), trained.probabilities(TEXTS), atol=0.02, rtol=0
    )
    assert int8.size_bytes <= trained.size_bytes


@pytest.mark.parametrize("strategy", ["full", "few_shot"])
def test_int8_weights_take_less_memory_than_float_ones(
    saved: dict[str, Path], tiny_model_path: str, strategy: str
) -> None:
    trained = Predictor.from_pretrained(saved[strategy], {"tiny": tiny_model_path})
    int8 = Predictor.from_pretrained(saved[strategy], {"tiny": tiny_model_path}, int8=True)

    assert int8.size_bytes < trained.size_bytes


def test_int8_models_on_one_base_share_one_int8_encoder(
    saved: dict[str, Path], tiny_model_path: str
) -> None:
    shared = SharedEncoders()

    loaded = [
        Predictor.from_pretrained(
            saved[strategy], {"tiny": tiny_model_path}, encoders=encoders, int8=int8
        )
        for strategy in ("frozen", "zero_shot")
        for encoders, int8 in ((shared, False), (shared.int8, True))
    ]

    assert shared.encoders_loaded == 2
    int8_encoder = loaded[1].shared_encoder
    assert int8_encoder is not None
    assert any(isinstance(module, DynamicInt8Linear) for module in int8_encoder.model.modules())
    float_group, int8_group = loaded[0].batch_group, loaded[1].batch_group
    assert float_group != int8_group
    assert {p.batch_group for p in loaded} == {float_group, int8_group}
