import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.ml.trainer import TrainingResult

MANIFEST_NAME = "adaptd.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    strategy: str
    base_model: str
    labels: list[str]
    metrics: dict[str, float]
    hyperparameters: dict[str, Any]
    max_length: int

    @classmethod
    def read(cls, directory: Path) -> "Manifest":
        data = json.loads((directory / MANIFEST_NAME).read_text())
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def save_artifact(result: TrainingResult, manifest: Manifest, directory: Path) -> None:
    """Write a Hugging Face model directory (safetensors, tokenizer) plus the adaptd manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    result.model.save_pretrained(directory)
    result.tokenizer.save_pretrained(directory)
    checksums = {path.name: _sha256(path) for path in sorted(directory.iterdir()) if path.is_file()}
    document = {"format_version": FORMAT_VERSION, **manifest.__dict__, "checksums": checksums}
    (directory / MANIFEST_NAME).write_text(json.dumps(document, indent=2, sort_keys=True))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
