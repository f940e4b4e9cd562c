import threading
from collections import OrderedDict
from collections.abc import Mapping

from app.core.storage import ArtifactStore
from app.ml.predictor import Predictor


class ModelCache:
    """Loaded predictors, least recently used first out; concurrent first requests load once."""

    def __init__(
        self, store: ArtifactStore, capacity: int, base_models: Mapping[str, str] | None = None
    ) -> None:
        self.store = store
        self.base_models = dict(base_models or {})
        self.capacity = capacity
        self._predictors: OrderedDict[str, Predictor] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, artifact_key: str) -> Predictor:
        with self._lock:
            if artifact_key in self._predictors:
                self._predictors.move_to_end(artifact_key)
                return self._predictors[artifact_key]
            loading = self._loading.setdefault(artifact_key, threading.Lock())
        with loading:
            with self._lock:
                if artifact_key in self._predictors:
                    return self._predictors[artifact_key]
            predictor = Predictor.from_pretrained(self.store.path(artifact_key), self.base_models)
            with self._lock:
                self._predictors[artifact_key] = predictor
                self._loading.pop(artifact_key, None)
                while len(self._predictors) > self.capacity:
                    self._predictors.popitem(last=False)
            return predictor

    def evict(self, artifact_key: str) -> None:
        with self._lock:
            self._predictors.pop(artifact_key, None)
