import shutil
import threading
from pathlib import Path

import pytest

from app.core.storage import ArtifactStore, LocalStore
from app.core.storage.objects import ObjectStore
from app.ml.predictor import Predictor
from app.serving.cache import ModelCache
from app.serving.metrics import ServingMetrics
from tests.s3_server import S3Server
from tests.strategy_models import SMALL_RUNS, train_and_save


@pytest.fixture(scope="module")
def store(tiny_model_path: str, tmp_path_factory: pytest.TempPathFactory) -> LocalStore:
    """An artifact store holding two full models and three frozen ones."""
    root = tmp_path_factory.mktemp("artifacts")
    for key, strategy in [
        ("full-a", "full"),
        ("full-b", "full"),
        ("frozen-a", "frozen"),
        ("frozen-b", "frozen"),
        ("frozen-c", "frozen"),
    ]:
        train_and_save(strategy, tiny_model_path, root / key, **SMALL_RUNS[strategy])
    return LocalStore(root)


def cache_over(store: ArtifactStore, tiny_model_path: str, **bounds: int) -> ModelCache:
    capacity = bounds.pop("capacity", 10)
    return ModelCache(
        store, capacity, {"tiny": tiny_model_path}, metrics=ServingMetrics(), **bounds
    )


def counted(cache: ModelCache) -> tuple[float, float, float]:
    metrics = cache.metrics
    return (
        metrics.cache_hits._value.get(),
        metrics.cache_misses._value.get(),
        metrics.cache_evictions._value.get(),
    )


def first_requests(cache: ModelCache, key: str, count: int) -> list[Predictor]:
    """What `count` threads released at once get asking `cache` for `key`."""
    start = threading.Barrier(count)
    loaded: list[Predictor] = []

    def first_request() -> None:
        start.wait()
        loaded.append(cache.get(key))

    threads = [threading.Thread(target=first_request) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return loaded


def test_concurrent_first_requests_load_a_model_once(
    store: ArtifactStore, tiny_model_path: str
) -> None:
    cache = cache_over(store, tiny_model_path)

    loaded = first_requests(cache, "full-a", 8)

    assert len({id(predictor) for predictor in loaded}) == 1
    assert counted(cache) == (7, 1, 0)


def test_warming_up_keeps_nothing_and_a_first_request_runs_only_its_own_pass(
    store: ArtifactStore, tiny_model_path: str
) -> None:
    cache = cache_over(store, tiny_model_path)

    cache.warm_up()
    assert (cache.encoders.encoders_loaded, cache.resident_bytes) == (0, 0)
    predictor = cache.get("frozen-a")
    encoder = predictor.shared_encoder
    assert encoder is not None
    assert encoder.encoded_texts == 0
    predictor.probabilities(["where is my parcel"])
    assert encoder.encoded_texts == 1


def test_32_first_requests_on_a_replica_over_the_object_store_fetch_and_load_once(
    store: LocalStore, tiny_model_path: str, s3_server: S3Server, tmp_path: Path
) -> None:
    """A replica's first requests for a model it has never seen: one download from the object
    store into its disk cache, one load, and every request served by that one predictor."""
    objects = ObjectStore(
        f"s3://{s3_server.new_bucket()}/artifacts",
        work_dir=tmp_path / "replica",
        cache_max_bytes=10**9,
        storage_options={"endpoint_url": s3_server.endpoint_url},
    )
    with objects.writing("full-a") as directory:
        shutil.copytree(store.fetch("full-a"), directory, dirs_exist_ok=True)
    objects.cache.discard("full-a")  # as on a replica other than the one that trained it
    cache = cache_over(objects, tiny_model_path)

    loaded = first_requests(cache, "full-a", 32)

    assert len({id(predictor) for predictor in loaded}) == 1
    assert objects.cache.fetches == 1
    assert counted(cache) == (31, 1, 0)


def test_the_least_recently_used_model_is_evicted_past_the_count_and_reloads(
    store: ArtifactStore, tiny_model_path: str
) -> None:
    cache = cache_over(store, tiny_model_path, capacity=2)
    first = cache.get("frozen-a")
    cache.get("frozen-b")
    cache.get("frozen-a")
    cache.get("frozen-c")

    assert "frozen-b" not in cache
    assert "frozen-a" in cache
    assert counted(cache) == (1, 3, 1)

    reloaded = cache.get("frozen-b")

    assert reloaded is not first
    assert reloaded.predict(["hello friend"])[0].label in {"billing", "greeting"}
    assert counted(cache) == (1, 4, 2)


def test_the_memory_bound_counts_only_what_a_model_holds_alone(
    store: ArtifactStore, tiny_model_path: str
) -> None:
    one_full = cache_over(store, tiny_model_path).get("full-a").size_bytes
    cache = cache_over(store, tiny_model_path, max_bytes=int(one_full * 1.5))

    cache.get("full-a")
    cache.get("frozen-a")
    cache.get("frozen-b")
    cache.get("frozen-c")

    assert all(key in cache for key in ["full-a", "frozen-a", "frozen-b", "frozen-c"])
    assert cache.encoders.encoders_loaded == 1

    cache.get("full-b")

    assert "full-a" not in cache
    assert "full-b" in cache
    assert cache.resident_bytes <= one_full * 1.5
    assert cache.metrics.cache_bytes._value.get() == cache.resident_bytes


def test_a_model_evicted_on_delete_is_loaded_again_on_the_next_request(
    store: ArtifactStore, tiny_model_path: str
) -> None:
    cache = cache_over(store, tiny_model_path)
    first = cache.get("full-a")

    cache.evict("full-a")

    assert "full-a" not in cache
    assert cache.get("full-a") is not first
