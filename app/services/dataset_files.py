"""Turn an uploaded file into located rows, read as a stream; every problem names its line."""

import csv
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

csv.field_size_limit(1 << 30)


LABEL_SEPARATOR = "|"


@dataclass(frozen=True)
class RawRow:
    """A row as read: `label` is one value, or for a multi-label row a list of them."""

    location: str
    text: Any
    label: Any
    multi_label: bool = False


@dataclass(frozen=True)
class RowError:
    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


ParsedItem = RawRow | RowError


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (encoding, header, columns)."""

    def __init__(self, message: str, location: str = "file") -> None:
        super().__init__(message)
        self.location = location


LONE_CARRIAGE_RETURN = re.compile(r"(?<=\r)(?!\n)")


def decoded_lines(file: BinaryIO) -> Iterator[str]:
    """The file's lines as text, each with its line ending, read one at a time; a line ends
    at \\n, \\r\\n or a lone \\r, as a CSV reader expects."""
    for number, raw in enumerate(file, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableFile(
                f"not valid UTF-8 (byte {error.start} of line {number}); re-save the file as UTF-8",
                f"line {number}",
            ) from None
        if "\r" in line:
            yield from filter(None, LONE_CARRIAGE_RETURN.split(line))
        else:
            yield line


def detect_format(filename: str | None, content_type: str | None) -> str:
    name = (filename or "").lower()
    kind = (content_type or "").lower()
    if name.endswith((".jsonl", ".ndjson")) or "ndjson" in kind or "jsonl" in kind:
        return "jsonl"
    if name.endswith((".csv", ".tsv")) or "csv" in kind:
        return "csv"
    raise UnreadableFile(
        f"cannot tell the format of {filename or 'the upload'!r}; "
        "name it .csv or .jsonl (or send Content-Type text/csv or application/jsonl)"
    )


def read_csv(
    file: BinaryIO, text_column: str, label_column: str, labels_column: str = "labels"
) -> Iterator[ParsedItem]:
    """Rows of a CSV/TSV file, as they are read. Without `label_column` but with
    `labels_column`, the data is multi-label and each cell lists labels separated by `|`
    (an empty cell: none apply)."""
    lines = decoded_lines(file)
    first_line = next(lines, "")
    if not first_line:
        raise UnreadableFile("the file is empty; expected a header row", "line 1")
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(itertools.chain([first_line], lines), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableFile("the file is empty; expected a header row", "line 1") from None
    except csv.Error as error:
        raise UnreadableFile(f"malformed CSV header: {error}", "line 1") from None
    columns = [name.strip() for name in header]
    text_index = _column_index(columns, text_column, "text_column")
    multi_label = label_column not in columns and labels_column in columns
    label_index = _column_index(
        columns, labels_column if multi_label else label_column, "label_column"
    )
    line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield RowError(f"line {reader.line_num}", f"malformed CSV: {error}")
            return
        location, line = f"line {line + 1}", reader.line_num
        if not any(field.strip() for field in record):
            continue
        if len(record) != len(columns):
            yield RowError(location, f"has {len(record)} fields; the header has {len(columns)}")
            continue
        label: Any = record[label_index]
        if multi_label:
            label = [part for part in label.split(LABEL_SEPARATOR) if part.strip()]
        yield RawRow(location, record[text_index], label, multi_label)


def read_jsonl(
    file: BinaryIO, text_column: str, label_column: str, labels_column: str = "labels"
) -> Iterator[ParsedItem]:
    """Rows of a JSON Lines file, as they are read; a record with `labels_column` (a list)
    instead of `label_column` is a multi-label row."""
    for number, line in enumerate(decoded_lines(file), start=1):
        if not line.strip():
            continue
        location = f"line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield RowError(location, f"invalid JSON: {error.msg}")
            continue
        except RecursionError:
            yield RowError(location, "invalid JSON: nested too deeply")
            continue
        if not isinstance(record, dict):
            yield RowError(location, "expected a JSON object per line")
            continue
        multi_label = label_column not in record and labels_column in record
        label = record.get(labels_column if multi_label else label_column)
        yield RawRow(location, record.get(text_column), label, multi_label)


def _column_index(columns: list[str], wanted: str, parameter: str) -> int:
    if wanted in columns:
        return columns.index(wanted)
    also = " (or 'labels' for multi-label data)" if parameter == "label_column" else ""
    raise UnreadableFile(
        f"column {wanted!r}{also} is missing; the header has {columns}. "
        f"Rename the column or pass {parameter}",
        "line 1",
    )
