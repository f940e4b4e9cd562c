"""Folders fetched from an object store, kept on this host's disk up to a size."""

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from app.core.storage.base import checked_key, size_of

# A folder fetched this recently is not evicted: the process that fetched it may be loading it.
MIN_AGE_SECONDS = 60.0


class DiskCache:
    """One folder per key, least recently fetched out first once the folders together pass
    `max_bytes`. A key is fetched once at a time across every thread and process on the host
    (a file lock per key); a folder appears whole or not at all (renamed into place).
    `on_evict` is told of each folder that goes, so that what was derived from it goes too."""

    def __init__(
        self, root: Path, max_bytes: int, on_evict: Callable[[Path], None] | None = None
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.on_evict = on_evict
        self.fetches = 0

    def location(self, key: str) -> Path:
        return self.root / checked_key(key)

    def get(self, key: str, fill: Callable[[Path], None]) -> Path:
        """The folder for `key`, filled by `fill` into a fresh folder when not cached."""
        target = self.location(key)
        if not target.is_dir():
            with self._lock(key):
                if not target.is_dir():
                    self.adopt(key, self._filled(key, fill))
                    self.fetches += 1
        _touch(target)
        return target

    def staging(self, key: str) -> Path:
        """A fresh folder on the cache's filesystem, for `adopt` to move into place."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{checked_key(key)}-", dir=self.root))

    def adopt(self, key: str, folder: Path) -> None:
        """Move a complete `folder` (from `staging`) in as the copy of `key`, then shrink."""
        target = self.location(key)
        try:
            folder.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(folder, ignore_errors=True)  # another process put it there first
        _touch(target)
        self.shrink(keep=key)

    def discard(self, key: str) -> None:
        self._remove(self.location(key))

    def shrink(self, keep: str | None = None) -> None:
        """Evict least recently fetched folders until the rest fit in `max_bytes`."""
        entries = []
        for path in self.root.iterdir() if self.root.is_dir() else []:
            if path.is_dir() and not path.name.startswith("."):
                try:
                    entries.append((path.stat().st_mtime, size_of(path), path))
                except FileNotFoundError:
                    continue
        total = sum(size for _, size, _ in entries)
        fresh = time.time() - MIN_AGE_SECONDS
        for modified, size, path in sorted(entries):
            if total <= self.max_bytes:
                return
            if path.name == keep or modified > fresh:
                continue
            with self._lock(path.name):
                self._remove(path)
            total -= size

    def _remove(self, folder: Path) -> None:
        if self.on_evict is not None:
            self.on_evict(folder)
        shutil.rmtree(folder, ignore_errors=True)

    def _filled(self, key: str, fill: Callable[[Path], None]) -> Path:
        folder = self.staging(key)
        try:
            fill(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return folder

    def _lock(self, key: str) -> FileLock:
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(locks / f"{key}.lock", thread_local=False)


def _touch(path: Path) -> None:
    now = time.time_ns()  # finer than the clock the kernel stamps files with
    with contextlib.suppress(FileNotFoundError):
        os.utime(path, ns=(now, now))
