import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class ArtifactStore:
    """Model artifacts in a local directory, one folder per server-made key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"invalid artifact key {key!r}")
        return self.root / key

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        """A staging directory that appears under `key` only once the block finishes cleanly."""
        target = self.path(key)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.root))
        try:
            yield staging
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def checkpoint_dir(self, job_id: str) -> Path:
        return self.root / ".checkpoints" / self.path(job_id).name

    @property
    def embeddings_dir(self) -> Path:
        return self.root / ".embeddings"

    def embeddings_of(self, dataset_id: str) -> Path:
        """Cached embeddings of a dataset's jobs (their validation texts included), kept
        together so that they go with the dataset."""
        return self.embeddings_dir / self.path(dataset_id).name

    @property
    def graphs_dir(self) -> Path:
        """ONNX Runtime graphs exported from models and base models, by source."""
        return self.root / ".onnx"

    def delete_checkpoint(self, job_id: str) -> None:
        shutil.rmtree(self.checkpoint_dir(job_id), ignore_errors=True)

    def delete(self, key: str) -> None:
        shutil.rmtree(self.path(key), ignore_errors=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_dir()

    def is_writable(self) -> bool:
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / ".probe"
        probe.write_text("ok")
        probe.unlink()
        return True


def size_of(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
