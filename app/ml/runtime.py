"""Where a served model's forward pass runs: torch as trained, or an ONNX Runtime graph of it.

The graph is exported once from the torch module (torch.onnx's exporter), fused for
transformers by ONNX Runtime's optimizer, then, for `int8`, quantized by ONNX Runtime
(int8 weights per output channel, activations quantized per pass) or, for `fp16`, converted
to half precision for the GPU. Graphs are kept under a cache directory by source and
backend: each lands in a folder of its own, renamed into place once complete, so a reader never
opens half a graph and concurrent exports of one source waste work but break nothing."""

import enum
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from app.core.storage.base import graphs_of
from app.ml.device import DevicePlan

GRAPH_FILE = "model.onnx"
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "output"
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
logger = logging.getLogger(__name__)


class Backend(enum.StrEnum):
    torch = "torch"
    onnx = "onnx"
    int8 = "int8"
    fp16 = "fp16"

    @property
    def uses_onnx(self) -> bool:
        return self is not Backend.torch


ACCELERATIONS = {
    Backend.onnx: "ONNX Runtime, float32 (CPU, or the GPU where there is one)",
    Backend.int8: "ONNX Runtime with int8 weights and per-pass quantized activations (CPU)",
    Backend.fp16: "ONNX Runtime in float16 on the GPU (needs onnxruntime-gpu and CUDA)",
}
"""What `PUT /v1/models/{id}/acceleration` offers: every backend but torch as trained."""


class BackendUnavailable(Exception):
    """This process cannot run the backend (no GPU for fp16, say), or the model does not
    export to it."""


@dataclass(frozen=True)
class Runtime:
    """The backend to serve with, and where exported graphs are kept."""

    backend: Backend = Backend.torch
    graphs_dir: Path | None = None

    def graph_cache(self) -> "GraphCache":
        if self.graphs_dir is None:
            raise ValueError(f"the {self.backend} backend needs a directory for its graphs")
        return GraphCache(self.graphs_dir)


TORCH = Runtime()


def check_available(backend: Backend) -> None:
    if backend is Backend.fp16 and CUDA_PROVIDER not in _providers():
        raise BackendUnavailable(
            "fp16 runs on a GPU: this server has no CUDA execution provider for ONNX Runtime "
            "(install onnxruntime-gpu on a machine with CUDA), use int8 or onnx instead"
        )


class OnnxGraph:
    """An ONNX Runtime session over a graph that takes the tokenizer's `input_ids` and
    `attention_mask` and gives one float tensor."""

    def __init__(self, path: Path, device: DevicePlan) -> None:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        providers = [CPU_PROVIDER]
        if device.device.type == "cuda" and CUDA_PROVIDER in _providers():
            providers.insert(0, CUDA_PROVIDER)
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        self.size_bytes = sum(f.stat().st_size for f in path.parent.iterdir() if f.is_file())

    def __call__(self, encoded: Mapping[str, torch.Tensor]) -> torch.Tensor:
        feeds = {name: encoded[name].cpu().numpy().astype(np.int64) for name in INPUT_NAMES}
        output = self.session.run(None, feeds)[0]
        return torch.from_numpy(np.ascontiguousarray(output, dtype=np.float32))


Export = Callable[[], torch.nn.Module]
"""Builds the torch module to export: (input_ids, attention_mask) -> one float tensor."""


class GraphCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def graph(
        self,
        source: Path,
        backend: Backend,
        export: Export,
        device: DevicePlan,
        *,
        layout: str = "",
    ) -> OnnxGraph:
        """The graph of the module `export` builds from `source`, for `backend`, exported on
        first use. `layout` names what the graph gives, where one source has several."""
        check_available(backend)
        return OnnxGraph(self.path(source, backend, export, layout), device)

    def path(self, source: Path, backend: Backend, export: Export, layout: str = "") -> Path:
        folder = graphs_of(self.root, source) / layout
        float_graph = folder / Backend.onnx / GRAPH_FILE
        try:
            if not float_graph.is_file():
                _publish(folder / Backend.onnx, lambda out: _export(export(), out / GRAPH_FILE))
            if backend is Backend.onnx:
                return float_graph
            target = folder / backend / GRAPH_FILE
            if not target.is_file():
                transform = _TRANSFORMS[backend]
                _publish(folder / backend, lambda out: transform(float_graph, out / GRAPH_FILE))
        except OSError:
            raise
        except Exception as error:
            logger.warning("exporting %s for %s failed", source, backend, exc_info=True)
            cause = _root_cause(error)
            raise BackendUnavailable(
                f"the model does not convert to an ONNX Runtime graph for {backend}: "
                f"{type(cause).__name__}: {cause}"
            ) from error
        return target

    def remove(self, source: Path) -> None:
        shutil.rmtree(graphs_of(self.root, source), ignore_errors=True)


def _root_cause(error: BaseException) -> BaseException:
    while error.__cause__ is not None:
        error = error.__cause__
    return error


def _publish(target: Path, write: Callable[[Path], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write(staging)
        staging.rename(target)
    except OSError:
        if not (target / GRAPH_FILE).is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export(module: torch.nn.Module, out: Path) -> None:
    module.eval()
    example = torch.ones(2, 8, dtype=torch.long)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    with warnings.catch_warnings(), _quiet("torch.onnx"):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example, torch.ones_like(example)),
            str(out),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch, 1: sequence}, {0: batch, 1: sequence}),
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    module.eval()


def _quantize_int8(source: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet("root"):
        quantize_dynamic(source, out, per_channel=True, weight_type=QuantType.QInt8)


def _half(source: Path, out: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(out))


_TRANSFORMS: dict[Backend, Callable[[Path, Path], None]] = {
    Backend.int8: _quantize_int8,
    Backend.fp16: _half,
}


def _providers() -> list[str]:
    providers: list[str] = onnxruntime.get_available_providers()
    return providers


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Raise a logger's level for a block (the exporter and quantizer log progress)."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
