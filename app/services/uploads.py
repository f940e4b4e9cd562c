"""From an upload (a file, or JSON examples) to rows that can be read as often as needed."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from app.core.storage.base import sha256_of_stream
from app.schemas.dataset import ExampleIn
from app.services.dataset_files import ParsedItem, RawRow, detect_format, read_csv, read_jsonl
from app.services.datasets import RowSource


@dataclass(frozen=True)
class FileUpload:
    file: BinaryIO
    filename: str | None
    content_type: str | None
    text_column: str = "text"
    label_column: str = "label"


def file_rows(upload: FileUpload) -> tuple[str, RowSource]:
    """The file's format and its rows, read from the start of the file on each call."""
    source_format = detect_format(upload.filename, upload.content_type)
    read = read_csv if source_format == "csv" else read_jsonl

    def rows() -> Iterator[ParsedItem]:
        upload.file.seek(0)
        return read(upload.file, upload.text_column, upload.label_column)

    return source_format, rows


def file_sha256(file: BinaryIO) -> str:
    file.seek(0)
    return sha256_of_stream(file)


def example_rows(examples: list[ExampleIn]) -> list[RawRow]:
    return [
        RawRow(
            f"examples[{index}]",
            example.text,
            example.labels if example.labels is not None else example.label,
            multi_label=example.labels is not None,
        )
        for index, example in enumerate(examples)
    ]
