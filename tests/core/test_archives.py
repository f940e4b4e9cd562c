import io
import os
import tarfile
import threading
from pathlib import Path

from app.core import archives
from app.core.archives import tar_gz_chunks


def test_tar_gz_chunks_round_trips_a_directory_in_bounded_chunks(tmp_path: Path) -> None:
    source = tmp_path / "artifact"
    (source / "tokenizer").mkdir(parents=True)
    payload = os.urandom(3 * archives.CHUNK_BYTES + 17)
    (source / "model.safetensors").write_bytes(payload)
    (source / "tokenizer" / "vocab.txt").write_text("hello\nworld\n")

    chunks = list(tar_gz_chunks(source, "mdl_1"))

    assert len(chunks) >= 3
    assert max(len(chunk) for chunk in chunks) <= archives.CHUNK_BYTES
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as archive:
        names = archive.getnames()
        weights = archive.extractfile("mdl_1/model.safetensors")
        assert weights is not None
        assert weights.read() == payload
    assert names == [
        "mdl_1",
        "mdl_1/model.safetensors",
        "mdl_1/tokenizer",
        "mdl_1/tokenizer/vocab.txt",
    ]


def test_tar_gz_chunks_stops_its_writer_when_the_reader_goes_away(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(os.urandom(20 * archives.CHUNK_BYTES))
    before = threading.active_count()

    stream = tar_gz_chunks(tmp_path, "x")
    next(stream)
    stream.close()

    for thread in threading.enumerate():
        if thread.name == "tar-gz-stream":
            thread.join(timeout=5)
            assert not thread.is_alive()
    assert threading.active_count() <= before
