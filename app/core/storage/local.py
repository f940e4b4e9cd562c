"""The embedded default: every artifact in one local directory that all processes see."""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.core.storage.base import (
    Area,
    ArtifactMissing,
    ArtifactStore,
    Mirror,
    StoredEntry,
    checked_key,
)


class _InPlace(Mirror):
    """The store's own folder: there is nothing to pull or push."""

    def pull(self) -> None:
        return None

    def push(self) -> None:
        return None

    def delete(self) -> None:
        shutil.rmtree(self.local, ignore_errors=True)


class LocalStore(ArtifactStore):
    """Model artifacts in a local directory, one folder per key, published by renaming a
    staging folder into place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.graphs_dir = root / ".onnx"

    def location(self, key: str) -> Path:
        return self.root / checked_key(key)

    def fetch(self, key: str) -> Path:
        path = self.location(key)
        if not path.is_dir():
            raise ArtifactMissing(f"no artifact {key} in {self.root}")
        return path

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        target = self.location(key)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.root))
        try:
            yield staging
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def exists(self, key: str) -> bool:
        return self.location(key).is_dir()

    def delete(self, key: str) -> None:
        shutil.rmtree(self.location(key), ignore_errors=True)

    def checkpoints(self, job_id: str) -> Mirror:
        return _InPlace(self.root / ".checkpoints" / checked_key(job_id))

    def embeddings(self, dataset_id: str) -> Mirror:
        return _InPlace(self.root / ".embeddings" / checked_key(dataset_id))

    def entries(self) -> Iterator[StoredEntry]:
        for path in _children(self.root):
            if not path.name.startswith("."):
                yield _entry(Area.model, path)
            elif path.is_dir() and "-" in path.name:
                yield _entry(Area.staging, path)
        for area, folder in ((Area.checkpoint, ".checkpoints"), (Area.embeddings, ".embeddings")):
            for path in _children(self.root / folder):
                yield _entry(area, path)

    def remove(self, entry: StoredEntry) -> None:
        path = self._path_of(entry)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def _path_of(self, entry: StoredEntry) -> Path:
        folder = {
            Area.model: self.root,
            Area.staging: self.root,
            Area.checkpoint: self.root / ".checkpoints",
            Area.embeddings: self.root / ".embeddings",
        }[entry.area]
        return folder / entry.name

    def is_writable(self) -> bool:
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / ".probe"
        probe.write_text("ok")
        probe.unlink()
        return True


def _children(directory: Path) -> list[Path]:
    return list(directory.iterdir()) if directory.is_dir() else []


def _entry(area: Area, path: Path) -> StoredEntry:
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        modified = float("inf")
    return StoredEntry(area, path.name, modified)
