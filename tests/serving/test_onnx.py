from pathlib import Path

import pytest
import torch

from app.ml import runtime
from app.ml.device import plan_device
from app.ml.predictor import Predictor
from app.ml.runtime import Backend, BackendUnavailable, GraphCache, OnnxGraph, Runtime
from app.serving.encoders import SharedEncoders
from tests.strategy_models import SMALL_RUNS, train_and_save

TEXTS = ["refund my money", "hi", "my card was charged twice", "good morning to you"]
TOLERANCE = {Backend.onnx: 1e-4, Backend.int8: 0.05}


@pytest.fixture(scope="module")
def saved(tiny_model_path: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("trained")
    for strategy, options in SMALL_RUNS.items():
        train_and_save(strategy, tiny_model_path, root / strategy, **options)
    return {strategy: root / strategy for strategy in SMALL_RUNS}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("graphs")


@pytest.mark.parametrize("backend", [Backend.onnx, Backend.int8])
@pytest.mark.parametrize("strategy", list(SMALL_RUNS))
def test_an_onnx_runtime_graph_answers_as_the_model_as_trained(
    saved: dict[str, Path], tiny_model_path: str, graphs: Path, strategy: str, backend: Backend
) -> None:
    bases = {"tiny": tiny_model_path}
    trained = Predictor.from_pretrained(saved[strategy], bases)

    served = Predictor.from_pretrained(saved[strategy], bases, runtime=Runtime(backend, graphs))

    assert isinstance(_graph_or_module(served), OnnxGraph)
    torch.testing.assert_close(
        served.probabilities(TEXTS),
        trained.probabilities(TEXTS),
        atol=TOLERANCE[backend],
        rtol=0,
    )


def test_int8_graphs_are_smaller_than_float_ones(
    saved: dict[str, Path], tiny_model_path: str, graphs: Path
) -> None:
    bases = {"tiny": tiny_model_path}
    sizes = {
        backend: Predictor.from_pretrained(
            saved["full"], bases, runtime=Runtime(backend, graphs)
        ).size_bytes
        for backend in (Backend.onnx, Backend.int8)
    }

    assert sizes[Backend.int8] < sizes[Backend.onnx]


def test_models_on_one_base_share_one_session_per_backend(
    saved: dict[str, Path], tiny_model_path: str, graphs: Path
) -> None:
    shared = SharedEncoders()

    loaded = [
        Predictor.from_pretrained(
            saved[strategy],
            {"tiny": tiny_model_path},
            encoders=shared,
            runtime=Runtime(backend, graphs),
        )
        for strategy in ("frozen", "zero_shot")
        for backend in (Backend.torch, Backend.int8)
    ]

    assert shared.encoders_loaded == 2
    int8_encoder = loaded[1].shared_encoder
    assert int8_encoder is not None
    assert isinstance(int8_encoder.model, OnnxGraph)
    torch_group, int8_group = loaded[0].batch_group, loaded[1].batch_group
    assert torch_group != int8_group
    assert {p.batch_group for p in loaded} == {torch_group, int8_group}


class _TokenCount(torch.nn.Module):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return attention_mask.float().sum(dim=1, keepdim=True)


def test_a_graph_is_exported_once_then_read_back(tmp_path: Path) -> None:
    exports = 0

    def counted() -> torch.nn.Module:
        nonlocal exports
        exports += 1
        return _TokenCount()

    cache = GraphCache(tmp_path)
    first = cache.path(tmp_path / "source", Backend.int8, counted)
    again = cache.path(tmp_path / "source", Backend.int8, counted)

    assert first == again
    assert exports == 1
    assert sorted(path.parent.name for path in tmp_path.rglob("*.onnx")) == ["int8", "onnx"]
    assert not [path for path in tmp_path.rglob(".*")], "no staging folder is left behind"
    graph = OnnxGraph(first, plan_device("cpu"))
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert graph({"input_ids": mask, "attention_mask": mask}).flatten().tolist() == [2.0, 3.0]


def test_fp16_is_refused_where_onnx_runtime_has_no_gpu(
    monkeypatch: pytest.MonkeyPatch, saved: dict[str, Path], tiny_model_path: str, graphs: Path
) -> None:
    monkeypatch.setattr(runtime, "_providers", lambda: ["CPUExecutionProvider"])

    with pytest.raises(BackendUnavailable, match="runs on a GPU"):
        Predictor.from_pretrained(
            saved["full"], {"tiny": tiny_model_path}, runtime=Runtime(Backend.fp16, graphs)
        )


def test_a_module_that_does_not_export_is_reported_as_such(tmp_path: Path) -> None:
    class Unexportable(torch.nn.Module):
        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            raise NotImplementedError("a layer the exporter has no translation for")

    with pytest.raises(BackendUnavailable, match=r"does not convert.*no translation"):
        GraphCache(tmp_path).path(tmp_path / "source", Backend.onnx, Unexportable)

    assert not list(tmp_path.rglob("*.onnx"))


def _graph_or_module(predictor: Predictor) -> object:
    scorer = predictor.scorer
    encoder = getattr(scorer, "encoder", None)
    return encoder.model if encoder is not None else scorer.logits  # type: ignore[attr-defined]
