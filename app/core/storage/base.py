"""What every artifact store offers: published model folders, mirrored working folders
(checkpoints, cached embeddings) and a listing for the sweeper."""

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

MANIFEST_NAME = "adaptd.json"
"""Written last into every artifact; lists the sha256 of every other file (`checksums`)."""


def graphs_of(graphs_dir: Path, copy: Path) -> Path:
    """Where this host keeps the ONNX graphs derived from the model copy at `copy`."""
    return graphs_dir / hashlib.sha256(str(copy.resolve()).encode()).hexdigest()[:24]


class Area(StrEnum):
    model = "model"
    staging = "staging"
    checkpoint = "checkpoint"
    embeddings = "embeddings"


@dataclass(frozen=True)
class StoredEntry:
    """One top-level folder of an area, as the sweeper sees it."""

    area: Area
    name: str
    modified: float


class ArtifactMissing(FileNotFoundError):
    """No complete artifact is published under the key (none, or one still being written)."""


class ArtifactCorrupt(OSError):
    """A fetched file does not match the checksum its manifest records."""


class ArtifactStoreUnavailable(ConnectionError):
    """The store did not answer for as long as a call is retried; worth trying again later."""


class Mirror(ABC):
    """A folder a job works in on this host, kept in the store so that another host can
    carry on from it: `pull` before the work, `push` after each step worth keeping."""

    def __init__(self, local: Path) -> None:
        self.local = local

    @abstractmethod
    def pull(self) -> None: ...

    @abstractmethod
    def push(self) -> None: ...

    @abstractmethod
    def delete(self) -> None: ...


class ArtifactStore(ABC):
    """Model artifacts under server-made keys. `writing` publishes a folder whole or not at
    all; `fetch` gives a complete, verified copy on this host."""

    graphs_dir: Path
    """ONNX Runtime graphs exported from models and base models, by source, on this host."""

    @abstractmethod
    def writing(self, key: str) -> AbstractContextManager[Path]:
        """A folder to write the artifact into; it is published under `key` only once the
        block finishes cleanly."""

    @abstractmethod
    def fetch(self, key: str) -> Path:
        """The artifact's folder on this host, complete; `ArtifactMissing` when none is."""

    @abstractmethod
    def location(self, key: str) -> Path:
        """Where `fetch` puts the artifact on this host, whether or not it is there yet."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def checkpoints(self, job_id: str) -> Mirror: ...

    @abstractmethod
    def embeddings(self, dataset_id: str) -> Mirror:
        """Cached embeddings of a dataset's jobs (their validation texts included), kept
        together so that they go with the dataset."""

    @abstractmethod
    def entries(self) -> Iterator[StoredEntry]: ...

    @abstractmethod
    def remove(self, entry: StoredEntry) -> None: ...

    @abstractmethod
    def is_writable(self) -> bool: ...


def checked_key(key: str) -> str:
    if not key or "/" in key or "\\" in key or key.startswith("."):
        raise ValueError(f"invalid artifact key {key!r}")
    return key


def size_of(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())


def files_of(directory: Path) -> Iterator[tuple[str, Path]]:
    """Every file under `directory` by its relative name, none that a writer is still
    writing (names starting with a dot are staging files)."""
    for root, folders, names in os.walk(directory):
        folders[:] = sorted(folder for folder in folders if not folder.startswith("."))
        for name in sorted(names):
            if not name.startswith(".") and not name.endswith(".partial"):
                path = Path(root) / name
                yield path.relative_to(directory).as_posix(), path


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, as a manifest's `checksums` record it."""
    with path.open("rb") as file:
        return sha256_of_stream(file)


def sha256_of_stream(file: BinaryIO) -> str:
    """The hex sha256 of what is left to read in `file`, read a megabyte at a time."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()
