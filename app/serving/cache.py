import threading
from collections import OrderedDict
from collections.abc import Mapping

from app.core.storage import ArtifactStore
from app.ml.predictor import Predictor
from app.serving.encoders import SharedEncoders
from app.serving.metrics import ServingMetrics


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
    ) -> None:
        self.store = store
        self.base_models = dict(base_models or {})
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.metrics = metrics or ServingMetrics()
        self.encoders = SharedEncoders()
        self._predictors: OrderedDict[str, Predictor] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def peek(self, artifact_key: str, *, int8: bool = False) -> Predictor | None:
        """The loaded predictor, without waiting on a load (for the event loop)."""
        key = _variant(artifact_key, int8)
        with self._lock:
            predictor = self._predictors.get(key)
            if predictor is not None:
                self._predictors.move_to_end(key)
                self.metrics.cache_hits.inc()
            return predictor

    def get(self, artifact_key: str, *, int8: bool = False) -> Predictor:
        """The model as trained, or its int8-quantized variant."""
        predictor = self.peek(artifact_key, int8=int8)
        if predictor is not None:
            return predictor
        key = _variant(artifact_key, int8)
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            predictor = self.peek(artifact_key, int8=int8)
            if predictor is not None:
                return predictor
            self.metrics.cache_misses.inc()
            predictor = self.load(artifact_key, int8=int8)
            with self._lock:
                self._predictors[key] = predictor
                self._loading.pop(key, None)
                self._shrink()
            return predictor

    def load(self, artifact_key: str, *, int8: bool = False) -> Predictor:
        """A predictor on this cache's shared bases, not kept."""
        return Predictor.from_pretrained(
            self.store.path(artifact_key),
            self.base_models,
            encoders=self.encoders.int8 if int8 else self.encoders,
            lora_bases=self.encoders.lora_base,
            int8=int8,
        )

    def evict(self, artifact_key: str) -> None:
        """Drop every variant of the model."""
        with self._lock:
            for int8 in (False, True):
                self._predictors.pop(_variant(artifact_key, int8), None)
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


def _variant(artifact_key: str, int8: bool) -> str:
    return f"{artifact_key}#int8" if int8 else artifact_key
