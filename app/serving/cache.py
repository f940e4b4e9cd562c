import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping

from app.core.storage import ArtifactStore
from app.ml.device import DevicePlan, plan_device
from app.ml.loading import BaseModelError, import_architecture
from app.ml.predictor import PassLimits, Predictor
from app.ml.runtime import Backend, Runtime
from app.ml.sentence import SentenceEncoder
from app.serving.encoders import SharedEncoders
from app.serving.metrics import ServingMetrics

WARM_UP_TEXT = "warm up"
WARM_UP_MAX_LENGTH = 16
logger = logging.getLogger(__name__)


class ModelCache:
    """Loaded predictors, least recently used first out, bounded by count and by the bytes of
    the weights each model holds alone; concurrent first requests for a model load it once.
    Models on a shared base (`frozen`, `zero_shot`, `lora`) read one copy of its weights."""

    def __init__(
        self,
        store: ArtifactStore,
        capacity: int,
        base_models: Mapping[str, str] | None = None,
        *,
        max_bytes: int | None = None,
        metrics: ServingMetrics | None = None,
        device: DevicePlan | None = None,
        limits: PassLimits | None = None,
    ) -> None:
        self.store = store
        self.device = device or plan_device("cpu")
        self.limits = limits or PassLimits.for_device(self.device)
        self.base_models = dict(base_models or {})
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.metrics = metrics or ServingMetrics()
        self.encoders = SharedEncoders()
        self._predictors: OrderedDict[str, Predictor] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def peek(self, artifact_key: str, backend: Backend = Backend.torch) -> Predictor | None:
        """The loaded predictor, without waiting on a load (for the event loop)."""
        key = _variant(artifact_key, backend)
        with self._lock:
            predictor = self._predictors.get(key)
            if predictor is not None:
                self._predictors.move_to_end(key)
                self.metrics.cache_hits.inc()
            return predictor

    def get(self, artifact_key: str, backend: Backend = Backend.torch) -> Predictor:
        """The model served on `backend`: torch as trained, or an ONNX Runtime graph."""
        predictor = self.peek(artifact_key, backend)
        if predictor is not None:
            return predictor
        key = _variant(artifact_key, backend)
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            predictor = self.peek(artifact_key, backend)
            if predictor is not None:
                return predictor
            self.metrics.cache_misses.inc()
            predictor = self.load(artifact_key, backend)
            with self._lock:
                self._predictors[key] = predictor
                self._loading.pop(key, None)
                self._shrink()
            return predictor

    def load(self, artifact_key: str, backend: Backend = Backend.torch) -> Predictor:
        """A predictor on this cache's shared bases, not kept. It is not run here: the
        request that loads it runs its first pass, and `warm_up` has paid the process's
        one-time costs."""
        predictor = Predictor.from_pretrained(
            self.store.fetch(artifact_key),
            self.base_models,
            device=self.device,
            encoders=self.encoders,
            lora_bases=self.encoders.lora_base,
            runtime=Runtime(backend, self.store.graphs_dir),
        )
        predictor.limits = self.limits
        return predictor

    def warm_up(self) -> None:
        """Pay at start-up what the first model loaded and run in a process would otherwise
        pay in its first request: the imports of its architecture (`import_architecture`),
        transformers' tables that map checkpoint weights, and torch's first pass on the
        serving device. Each registered base is loaded as an encoder, run once and dropped:
        nothing stays resident."""
        for name, path in self.base_models.items():
            try:
                import_architecture(path)
                encoder = SentenceEncoder.load(path, WARM_UP_MAX_LENGTH, self.device)
                encoder.embed([WARM_UP_TEXT])
            except (OSError, ValueError, BaseModelError) as error:
                logger.warning("base model %s at %s does not load: %s", name, path, error)

    def evict(self, artifact_key: str) -> None:
        """Drop every variant of the model."""
        with self._lock:
            for backend in Backend:
                self._predictors.pop(_variant(artifact_key, backend), None)
            self._report()

    def __contains__(self, artifact_key: str) -> bool:
        return artifact_key in self._predictors

    @property
    def resident_bytes(self) -> int:
        return sum(predictor.size_bytes for predictor in self._predictors.values())

    def _shrink(self) -> None:
        """Drop least recently used models until within bounds; the newest always stays."""
        while len(self._predictors) > 1 and (
            len(self._predictors) > self.capacity
            or (self.max_bytes is not None and self.resident_bytes > self.max_bytes)
        ):
            self._predictors.popitem(last=False)
            self.metrics.cache_evictions.inc()
        self._report()

    def _report(self) -> None:
        self.metrics.cache_models.set(len(self._predictors))
        self.metrics.cache_bytes.set(self.resident_bytes)
        self.metrics.shared_encoder_bytes.set(self.encoders.resident_bytes())


def _variant(artifact_key: str, backend: Backend) -> str:
    return artifact_key if backend is Backend.torch else f"{artifact_key}#{backend}"
