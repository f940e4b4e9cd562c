"""Artifacts in S3-compatible object storage (through fsspec and s3fs), with a verified copy
of each model on this host's disk.

An object store has no rename, so a model is published by uploading every file and then its
manifest, which lists every other file's sha256: a reader requires the manifest and checks
each file against it, and never sees half a model."""

import errno
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import fsspec
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from app.core.storage.base import (
    MANIFEST_NAME,
    Area,
    ArtifactCorrupt,
    ArtifactMissing,
    ArtifactStore,
    ArtifactStoreUnavailable,
    Mirror,
    StoredEntry,
    checked_key,
    files_of,
    graphs_of,
    sha256_of,
)
from app.core.storage.disk_cache import DiskCache

logger = logging.getLogger(__name__)
T = TypeVar("T")
_FOLDERS = {Area.model: "models", Area.checkpoint: "checkpoints", Area.embeddings: "embeddings"}


def _is_transient(error: BaseException) -> bool:
    """Worth another try: the store could not be reached or answered with a server error,
    as opposed to an object that is not there or a request that is refused."""
    if isinstance(error, ArtifactStoreUnavailable):
        return False  # retried for the whole window already
    if isinstance(error, ArtifactMissing | FileNotFoundError | PermissionError | ValueError):
        return False
    if isinstance(error.__cause__, Exception) and not isinstance(error, ArtifactCorrupt):
        return _is_transient(error.__cause__)  # s3fs wraps the client's error in an OSError
    if isinstance(error, OSError) and error.errno in LOCAL_DISK_FAULTS:
        return False
    if isinstance(error, OSError | ConnectionError | TimeoutError | ArtifactCorrupt):
        return True
    return _is_transient_client_error(error)


LOCAL_DISK_FAULTS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}
THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError"}


def _is_transient_client_error(error: BaseException) -> bool:
    """The S3 client's own errors: a connection that failed or a server that is busy or
    failing, as opposed to missing credentials, a bad parameter or a refused request."""
    from aiohttp import ClientError as HttpError
    from botocore import exceptions as boto

    if isinstance(error, boto.ConnectionError | boto.HTTPClientError | HttpError):
        return True
    if isinstance(error, boto.ClientError):
        answer = error.response
        status = int(answer.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        return status >= 500 or answer.get("Error", {}).get("Code") in THROTTLED
    return False


class ObjectStore(ArtifactStore):
    def __init__(
        self,
        url: str,
        *,
        work_dir: Path,
        cache_max_bytes: int,
        retry_seconds: float = 120.0,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self.fs, root = fsspec.core.url_to_fs(
            url, use_listings_cache=False, skip_instance_cache=True, **(storage_options or {})
        )
        self.root = root.rstrip("/")
        if hasattr(self.fs, "retries"):
            self.fs.retries = 1  # s3fs's own retries: `retrying` below is the one policy
        self.work_dir = work_dir
        self.graphs_dir = work_dir / "onnx"
        self.cache = DiskCache(work_dir / "artifacts", cache_max_bytes, self._forget_graphs)
        self.retry_seconds = retry_seconds

    def retrying(self, call: Callable[[], T]) -> T:
        """`call` again while the store is unreachable, for up to `retry_seconds`."""

        def log(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.warning("artifact store unavailable (%s); trying again", error)

        runner = retry(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_delay(self.retry_seconds),
            wait=wait_exponential(multiplier=0.5, max=5),
            before_sleep=log,
            reraise=True,
        )
        try:
            return runner(call)()
        except Exception as error:
            if _is_transient(error) and not isinstance(error, ArtifactCorrupt):
                raise ArtifactStoreUnavailable(
                    f"the artifact store did not answer for {self.retry_seconds:g} s "
                    f"(ADAPTD_ARTIFACT_STORE_RETRY_SECONDS): {error}"
                ) from error
            raise

    def _forget_graphs(self, copy: Path) -> None:
        shutil.rmtree(graphs_of(self.graphs_dir, copy), ignore_errors=True)

    def remote(self, area: Area, name: str = "") -> str:
        folder = f"{self.root}/{_FOLDERS[area]}"
        return f"{folder}/{checked_key(name)}" if name else folder

    def location(self, key: str) -> Path:
        return self.cache.location(key)

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        staging = self.cache.staging(key)
        try:
            yield staging
            self.retrying(lambda: self._upload_model(key, staging))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self.cache.adopt(key, staging)

    def _upload_model(self, key: str, folder: Path) -> None:
        if not (folder / MANIFEST_NAME).is_file():
            raise ValueError(f"artifact {key} has no {MANIFEST_NAME}; nothing was published")
        prefix = self.remote(Area.model, key)
        for name, path in files_of(folder):
            if name != MANIFEST_NAME:
                self.fs.put_file(str(path), f"{prefix}/{name}")
        self.fs.put_file(str(folder / MANIFEST_NAME), f"{prefix}/{MANIFEST_NAME}")

    def fetch(self, key: str) -> Path:
        return self.cache.get(
            key, lambda folder: self.retrying(lambda: self._download(key, folder))
        )

    def _download(self, key: str, folder: Path) -> None:
        prefix = self.remote(Area.model, key)
        try:
            manifest = self.fs.cat_file(f"{prefix}/{MANIFEST_NAME}")
        except FileNotFoundError as error:
            raise ArtifactMissing(f"no complete artifact {key} in the object store") from error
        checksums: dict[str, str] = json.loads(manifest).get("checksums", {})
        for name, digest in checksums.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(f"{prefix}/{name}", str(target))
            if sha256_of(target) != digest:
                raise ArtifactCorrupt(f"{name} of artifact {key} does not match its checksum")
        (folder / MANIFEST_NAME).write_bytes(manifest)

    def exists(self, key: str) -> bool:
        path = f"{self.remote(Area.model, key)}/{MANIFEST_NAME}"
        return bool(self.retrying(lambda: self.fs.exists(path)))

    def delete(self, key: str) -> None:
        self.retrying(lambda: self._remove_prefix(self.remote(Area.model, key)))
        self.cache.discard(key)

    def checkpoints(self, job_id: str) -> Mirror:
        return _Mirrored(
            self,
            self.work_dir / "checkpoints" / checked_key(job_id),
            self.remote(Area.checkpoint, job_id),
        )

    def embeddings(self, dataset_id: str) -> Mirror:
        return _Mirrored(
            self,
            self.work_dir / "embeddings" / checked_key(dataset_id),
            self.remote(Area.embeddings, dataset_id),
        )

    def entries(self) -> Iterator[StoredEntry]:
        for area in _FOLDERS:
            prefix = self.remote(area)
            found: dict[str, Any] = self.retrying(partial(self.fs.find, prefix, detail=True))
            newest: dict[str, float] = {}
            for path, info in found.items():
                name = path[len(prefix) + 1 :].split("/", 1)[0]
                newest[name] = max(newest.get(name, 0.0), _modified(info))
            for name, modified in newest.items():
                yield StoredEntry(area, name, modified)

    def remove(self, entry: StoredEntry) -> None:
        self.retrying(lambda: self._remove_prefix(self.remote(entry.area, entry.name)))
        if entry.area is Area.model:
            self.cache.discard(entry.name)

    def _remove_prefix(self, prefix: str) -> None:
        with suppress(FileNotFoundError):
            self.fs.rm(prefix, recursive=True)

    def is_writable(self) -> bool:
        probe = f"{self.root}/.probe"
        self.fs.pipe_file(probe, b"ok")
        self.fs.rm_file(probe)
        return True


class _Mirrored(Mirror):
    """A local folder and its copy under a prefix of the object store."""

    def __init__(self, store: ObjectStore, local: Path, prefix: str) -> None:
        super().__init__(local)
        self.store, self.prefix = store, prefix
        self._pushed: dict[str, tuple[int, int]] = {}

    def pull(self) -> None:
        self.store.retrying(self._pull)

    def _pull(self) -> None:
        shutil.rmtree(self.local, ignore_errors=True)
        names = [path[len(self.prefix) + 1 :] for path in self.store.fs.find(self.prefix)]
        for name in names:
            target = self.local / name
            target.parent.mkdir(parents=True, exist_ok=True)
            self.store.fs.get_file(f"{self.prefix}/{name}", str(target))
        self._pushed = dict(_versions(self.local))

    def push(self) -> None:
        self.store.retrying(self._push)

    def _push(self) -> None:
        current = dict(_versions(self.local))
        for name, version in current.items():
            if self._pushed.get(name) != version:
                self.store.fs.put_file(str(self.local / name), f"{self.prefix}/{name}")
                self._pushed[name] = version
        for name in set(self._pushed) - set(current):
            with suppress(FileNotFoundError):
                self.store.fs.rm_file(f"{self.prefix}/{name}")
            del self._pushed[name]

    def delete(self) -> None:
        shutil.rmtree(self.local, ignore_errors=True)
        self.store.retrying(lambda: self.store._remove_prefix(self.prefix))


def _versions(folder: Path) -> Iterator[tuple[str, tuple[int, int]]]:
    if folder.is_dir():
        for name, path in files_of(folder):
            stat = path.stat()
            yield name, (stat.st_size, stat.st_mtime_ns)


def _modified(info: dict[str, Any]) -> float:
    value = info.get("LastModified") or info.get("mtime") or 0.0
    return value.timestamp() if isinstance(value, datetime) else float(value)
