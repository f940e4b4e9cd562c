"""The object-store backend against a real S3 server on loopback: what one host publishes
another host reads whole and verified, never half; working folders follow a job from host to
host; the store being down makes work wait, not fail."""

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.config import Settings
from app.core.storage import (
    Area,
    ArtifactCorrupt,
    ArtifactMissing,
    ArtifactStoreUnavailable,
    open_store,
)
from app.core.storage.base import graphs_of
from app.core.storage.objects import ObjectStore
from app.ml.artifact import MANIFEST_NAME, Manifest, save_artifact
from tests.s3_server import S3Server

MANIFEST = Manifest(
    strategy="full",
    base_model="tiny",
    labels=["a", "b"],
    metrics={},
    hyperparameters={},
    max_length=16,
)

StoreFactory = Callable[..., ObjectStore]


@pytest.fixture
def host(s3_server: S3Server, tmp_path: Path) -> StoreFactory:
    """A store on a host of its own (its own working directory) over one fresh bucket."""
    bucket = s3_server.new_bucket()

    def on_host(name: str, **options: float) -> ObjectStore:
        return ObjectStore(
            f"s3://{bucket}/artifacts",
            work_dir=tmp_path / name,
            cache_max_bytes=int(options.get("cache_max_bytes", 10**9)),
            retry_seconds=options.get("retry_seconds", 1.0),
            storage_options={"endpoint_url": s3_server.endpoint_url},
        )

    return on_host


def publish(store: ObjectStore, key: str, weights: bytes = b"weights") -> None:
    def save(directory: Path) -> None:
        (directory / "model.safetensors").write_bytes(weights)
        (directory / "tokenizer").mkdir()
        (directory / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\n")

    with store.writing(key) as directory:
        save_artifact(save, MANIFEST, directory)


def test_what_one_host_publishes_another_fetches_whole_and_verified(host: StoreFactory) -> None:
    writer, reader = host("worker"), host("api")
    publish(writer, "mdl_one")

    fetched = reader.fetch("mdl_one")

    assert fetched == reader.location("mdl_one")
    assert (fetched / "model.safetensors").read_bytes() == b"weights"
    assert (fetched / "tokenizer" / "vocab.txt").read_text() == "[PAD]\n[UNK]\n"
    assert Manifest.read(fetched).labels == ["a", "b"]
    assert reader.exists("mdl_one")
    assert writer.exists("mdl_one")
    assert writer.location("mdl_one").is_dir(), "the writer keeps what it published"


def test_a_model_whose_manifest_is_not_written_yet_is_not_there(host: StoreFactory) -> None:
    """Objects are uploaded one by one and the manifest last: until it is written the model
    does not exist for any reader."""
    writer, reader = host("worker"), host("api")
    half = writer.remote(Area.model, "mdl_half")
    writer.fs.pipe_file(f"{half}/model.safetensors", b"weights")

    assert not reader.exists("mdl_half")
    with pytest.raises(ArtifactMissing):
        reader.fetch("mdl_half")
    assert not reader.location("mdl_half").exists()


def test_a_file_that_does_not_match_its_checksum_is_refused(host: StoreFactory) -> None:
    writer, reader = host("worker"), host("api")
    publish(writer, "mdl_bad")
    writer.fs.pipe_file(f"{writer.remote(Area.model, 'mdl_bad')}/model.safetensors", b"tampered")

    with pytest.raises(ArtifactCorrupt, match=r"model\.safetensors"):
        reader.fetch("mdl_bad")
    assert not reader.location("mdl_bad").exists()


def test_a_failed_write_publishes_nothing(host: StoreFactory) -> None:
    store = host("worker")

    def crash_while_saving() -> None:
        with store.writing("mdl_crash") as directory:
            (directory / "model.safetensors").write_bytes(b"weights")
            raise RuntimeError("training process died while saving")

    with pytest.raises(RuntimeError):
        crash_while_saving()

    assert not store.exists("mdl_crash")
    assert store.fs.find(store.remote(Area.model, "mdl_crash")) == []


def test_concurrent_first_fetches_on_a_host_download_once(host: StoreFactory) -> None:
    """32 threads over two store objects sharing one working directory, as an API replica
    and a worker on one host would: one download, every caller the same complete folder."""
    publish(host("worker"), "mdl_hot")
    stores = [host("api"), host("api")]
    barrier = threading.Barrier(32)
    seen: list[bytes] = []

    def first_request(index: int) -> None:
        barrier.wait()
        folder = stores[index % 2].fetch("mdl_hot")
        seen.append((folder / "model.safetensors").read_bytes())

    threads = [threading.Thread(target=first_request, args=(i,)) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert seen == [b"weights"] * 32
    assert sum(store.cache.fetches for store in stores) == 1


def test_the_host_cache_evicts_least_recently_fetched_by_bytes(
    host: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("app.core.storage.disk_cache.MIN_AGE_SECONDS", -1.0)
    writer = host("worker")
    for key in ("mdl_a", "mdl_b", "mdl_c"):
        publish(writer, key, weights=b"x" * 4000)
    reader = host("api", cache_max_bytes=12_000)  # two fit, not three

    reader.fetch("mdl_a")
    graphs = {key: graphs_of(reader.graphs_dir, reader.fetch(key)) for key in ("mdl_a", "mdl_b")}
    for folder in graphs.values():  # as if each had been served through ONNX Runtime
        (folder / "onnx").mkdir(parents=True)
    reader.fetch("mdl_a")  # now the most recently used
    reader.fetch("mdl_c")

    cached = {path.name for path in reader.cache.root.iterdir() if not path.name.startswith(".")}
    assert cached == {"mdl_a", "mdl_c"}
    assert graphs["mdl_a"].is_dir()
    assert not graphs["mdl_b"].exists(), "the graphs of an evicted copy go with it"
    assert reader.fetch("mdl_b").is_dir(), "an evicted model is fetched again"


def test_a_checkpoint_pushed_on_one_host_is_pulled_on_another(host: StoreFactory) -> None:
    first = host("worker-1").checkpoints("job_1")
    first.local.mkdir(parents=True)
    (first.local / "checkpoint.pt").write_bytes(b"epoch 1")
    (first.local / "search").mkdir()
    (first.local / "search" / "trial-0.json").write_text("{}")
    (first.local / ".checkpoint.pt.partial").write_bytes(b"being written")
    first.push()
    (first.local / "checkpoint.pt").write_bytes(b"epoch 2")
    (first.local / "search" / "trial-0.json").unlink()
    first.push()

    second = host("worker-2").checkpoints("job_1")
    second.pull()

    pulled = sorted(p.relative_to(second.local).as_posix() for p in second.local.rglob("*"))
    assert pulled == ["checkpoint.pt"], "the removed trial is gone, the partial never went"
    assert (second.local / "checkpoint.pt").read_bytes() == b"epoch 2"

    second.delete()
    third = host("worker-3").checkpoints("job_1")
    third.pull()
    assert not third.local.exists() or not any(third.local.iterdir())


def test_the_sweeper_sees_each_top_level_folder_once(host: StoreFactory) -> None:
    store = host("worker")
    publish(store, "mdl_kept")
    mirror = store.embeddings("ds_1")
    mirror.local.mkdir(parents=True)
    (mirror.local / "corpus.safetensors").write_bytes(b"rows")
    mirror.push()

    entries = {(entry.area, entry.name) for entry in store.entries()}
    assert entries == {(Area.model, "mdl_kept"), (Area.embeddings, "ds_1")}

    [model] = [entry for entry in store.entries() if entry.area is Area.model]
    store.remove(model)
    assert not store.exists("mdl_kept")
    assert not store.location("mdl_kept").exists()


def test_work_waits_for_a_store_that_is_down_and_goes_on_when_it_is_back(
    host: StoreFactory, s3_server: S3Server
) -> None:
    publish(host("worker"), "mdl_wait")
    reader = host("api", retry_seconds=60.0)
    s3_server.stop()
    restart = threading.Timer(3.0, s3_server.start)
    restart.start()
    try:
        folder = reader.fetch("mdl_wait")
    finally:
        restart.join()

    assert (folder / MANIFEST_NAME).is_file()
    assert (folder / "model.safetensors").read_bytes() == b"weights"


def test_past_its_retry_time_an_unreachable_store_is_an_error(
    host: StoreFactory, s3_server: S3Server
) -> None:
    reader = host("api", retry_seconds=0.5)
    s3_server.stop()
    try:
        with pytest.raises(ArtifactStoreUnavailable, match=r"did not answer for 0.5 s"):
            reader.fetch("mdl_never")
    finally:
        s3_server.start()


def test_missing_credentials_fail_at_once_instead_of_being_retried(
    host: StoreFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws either
    reader = host("api", retry_seconds=60.0)

    with pytest.raises(Exception, match="credentials") as raised:
        reader.fetch("mdl_never")

    assert not isinstance(raised.value, ArtifactStoreUnavailable)


def test_the_settings_open_the_object_store_they_name(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_server.environment(s3_server.new_bucket()).items():
        monkeypatch.setenv(name, value)
    store = open_store(Settings(data_dir=tmp_path))

    assert isinstance(store, ObjectStore)
    assert store.is_writable()
    publish(store, "mdl_configured")
    assert store.exists("mdl_configured")
    assert store.location("mdl_configured").is_relative_to(tmp_path)
