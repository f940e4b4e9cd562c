"""A downloaded model archive, unpacked safely and checked against its own manifest."""

import hashlib
import json
import tarfile
from pathlib import Path

from adaptd.client.errors import AdaptdError

MANIFEST_NAME = "adaptd.json"


class CorruptDownload(AdaptdError):
    """The archive's files do not match the checksums in its `adaptd.json`."""


def unpack(archive: Path, destination: Path) -> Path:
    """Extract the archive's one top folder into `destination` (no links out, no absolute
    paths: the `data` filter) and verify every file listed in its manifest."""
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, mode="r:gz") as tar:
        roots = {Path(member.name).parts[0] for member in tar.getmembers()}
        if len(roots) != 1:
            raise CorruptDownload(f"expected one top folder in the archive, found {sorted(roots)}")
        tar.extractall(destination, filter="data")
    folder = destination / roots.pop()
    verify(folder)
    return folder


def verify(folder: Path) -> None:
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        return
    checksums: dict[str, str] = json.loads(manifest.read_text()).get("checksums", {})
    for name, expected in checksums.items():
        path = folder / name
        if not path.is_file() or _sha256(path) != expected:
            raise CorruptDownload(f"{name} in {folder} does not match its checksum")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
