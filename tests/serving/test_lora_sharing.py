import gc
from pathlib import Path

import pytest
import torch

from app.ml.data import LabeledExample
from app.ml.predictor import Predictor
from app.serving.encoders import SharedEncoders
from tests.strategy_models import CPU, MULTI, ROWS, SMALL_RUNS, train_and_save

THREE_LABELS = [
    *ROWS,
    LabeledExample.of("where is my parcel", "shipping"),
    LabeledExample.of("the delivery is late", "shipping"),
]
TEXTS = ["refund my money", "hi", "where is my parcel, it is late", "good morning to you"]


@pytest.fixture(scope="module")
def saved(tiny_model_path: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three `lora` models on one base: two, three labels, multi-label; each read merged."""
    root = tmp_path_factory.mktemp("lora")
    datasets = {"two": ROWS, "three": THREE_LABELS, "multi": MULTI}
    for name, rows in datasets.items():
        train_and_save("lora", tiny_model_path, root / name, rows, **SMALL_RUNS["lora"])
    return {name: root / name for name in datasets}


def load(directory: Path, base: str, shared: SharedEncoders | None = None) -> Predictor:
    lora_bases = None if shared is None else shared.lora_base
    return Predictor.from_pretrained(directory, {"tiny": base}, lora_bases=lora_bases)


def labels_of(predictor: Predictor) -> list[list[str]]:
    return [prediction.labels for prediction in predictor.predict(TEXTS)]


def test_lora_models_on_one_base_answer_as_their_merged_copies(
    saved: dict[str, Path], tiny_model_path: str
) -> None:
    shared = SharedEncoders()

    on_shared_base = {name: load(path, tiny_model_path, shared) for name, path in saved.items()}

    assert shared.lora_bases_loaded == 1
    for name, predictor in on_shared_base.items():
        merged = load(saved[name], tiny_model_path)
        torch.testing.assert_close(
            predictor.probabilities(TEXTS), merged.probabilities(TEXTS), atol=1e-5, rtol=1e-4
        )
        assert labels_of(predictor) == labels_of(merged)


def test_a_lora_model_on_a_shared_base_holds_only_its_adapter_and_head(
    saved: dict[str, Path], tiny_model_path: str
) -> None:
    shared = SharedEncoders()

    adapter_only = load(saved["three"], tiny_model_path, shared).size_bytes
    own_copy = load(saved["three"], tiny_model_path).size_bytes

    assert adapter_only < own_copy / 5
    assert shared.resident_bytes() >= own_copy * 0.9


def test_an_adapter_leaves_the_base_once_its_model_is_dropped(
    saved: dict[str, Path], tiny_model_path: str
) -> None:
    shared = SharedEncoders()
    kept = load(saved["two"], tiny_model_path, shared)
    dropped = load(saved["three"], tiny_model_path, shared)
    base = shared.lora_base(tiny_model_path, CPU)
    assert base.adapters == 2

    del dropped
    gc.collect()

    assert base.adapters == 1
    merged = load(saved["two"], tiny_model_path)
    torch.testing.assert_close(
        kept.probabilities(TEXTS), merged.probabilities(TEXTS), atol=1e-5, rtol=1e-4
    )
