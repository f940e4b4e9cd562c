"""A model directory: the strategy's weights plus the `adaptd.json` manifest with checksums."""

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from app.core.storage.base import MANIFEST_NAME, sha256_of
from app.ml.arguments import Pooling

__all__ = ["MANIFEST_NAME", "Manifest", "save_artifact"]

FORMAT_VERSION = 2


@dataclass(frozen=True)
class Manifest:
    strategy: str
    base_model: str
    labels: list[str]
    metrics: dict[str, float]
    hyperparameters: dict[str, Any]
    max_length: int
    multi_label: bool = False
    thresholds: list[float] | None = None
    label_descriptions: dict[str, str] | None = None
    pooling: Pooling = "cls"

    @classmethod
    def read(cls, directory: Path) -> "Manifest":
        data = json.loads((directory / MANIFEST_NAME).read_text())
        return cls(**{field.name: data[field.name] for field in fields(cls) if field.name in data})


def save_artifact(save: Callable[[Path], None], manifest: Manifest, directory: Path) -> None:
    """Let `save` write the weights into `directory`, then add the manifest and checksums."""
    directory.mkdir(parents=True, exist_ok=True)
    save(directory)
    checksums = {
        str(path.relative_to(directory)): sha256_of(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
    document = {"format_version": FORMAT_VERSION, **asdict(manifest), "checksums": checksums}
    (directory / MANIFEST_NAME).write_text(json.dumps(document, indent=2, sort_keys=True))
