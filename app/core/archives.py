"""A directory as a gzip-compressed tar stream, produced in bounded memory."""

import queue
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

CHUNK_BYTES = 1 << 20
QUEUED_CHUNKS = 8
_END = b""


class _Abandoned(Exception):
    """The reader went away; stop writing."""


class _QueueWriter:
    """A write-only file whose bytes go, in chunks, to a bounded queue."""

    def __init__(self, chunks: "queue.Queue[bytes | BaseException]", stop: threading.Event):
        self.chunks = chunks
        self.stop = stop
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) >= CHUNK_BYTES:
            self.put(bytes(self.buffer[:CHUNK_BYTES]))
            del self.buffer[:CHUNK_BYTES]
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.put(bytes(self.buffer))
            self.buffer.clear()

    def put(self, item: bytes | BaseException) -> None:
        while True:
            if self.stop.is_set():
                raise _Abandoned
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def tar_gz_chunks(directory: Path, root_name: str) -> Iterator[bytes]:
    """Yield `directory` as a .tar.gz whose single top folder is `root_name`. Files are
    added in sorted order, so the listing is stable."""
    chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=QUEUED_CHUNKS)
    stop = threading.Event()
    writer = _QueueWriter(chunks, stop)

    def produce() -> None:
        try:
            with tarfile.open(fileobj=writer, mode="w|gz") as archive:  # type: ignore[call-overload]
                archive.add(directory, arcname=root_name, recursive=False)
                for path in sorted(directory.rglob("*")):
                    archive.add(
                        path, arcname=f"{root_name}/{path.relative_to(directory)}", recursive=False
                    )
            writer.flush()
            writer.put(_END)
        except _Abandoned:
            return
        except Exception as error:  # handed to the reader, which raises it
            try:
                writer.put(error)
            except _Abandoned:
                return

    producer = threading.Thread(target=produce, name="tar-gz-stream", daemon=True)
    producer.start()
    try:
        while (item := chunks.get()) != _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
