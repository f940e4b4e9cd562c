"""Turn uploaded bytes into located rows; every problem names its line."""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

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


@dataclass
class ParsedFile:
    rows: list[RawRow]
    errors: list[RowError]


class UnreadableFile(ValueError):
    """The file as a whole cannot be read (encoding, header, columns)."""

    def __init__(self, message: str, location: str = "file") -> None:
        super().__init__(message)
        self.location = location


def decode_utf8(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise UnreadableFile(
            f"not valid UTF-8 (byte {error.start} of the file); re-save the file as UTF-8",
            f"line {line}",
        ) from None


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


def parse_csv(
    content: bytes, text_column: str, label_column: str, labels_column: str = "labels"
) -> ParsedFile:
    """Rows of a CSV/TSV file. Without `label_column` but with `labels_column`, the data is
    multi-label and each cell lists labels separated by `|` (an empty cell: none apply)."""
    text = decode_utf8(content)
    delimiter = "\t" if _looks_tab_separated(text) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
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
    parsed = ParsedFile([], [])
    line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            parsed.errors.append(RowError(f"line {reader.line_num}", f"malformed CSV: {error}"))
            break
        location, line = f"line {line + 1}", reader.line_num
        if not any(field.strip() for field in record):
            continue
        if len(record) != len(columns):
            parsed.errors.append(
                RowError(location, f"has {len(record)} fields; the header has {len(columns)}")
            )
            continue
        label: Any = record[label_index]
        if multi_label:
            label = [part for part in label.split(LABEL_SEPARATOR) if part.strip()]
        parsed.rows.append(RawRow(location, record[text_index], label, multi_label))
    return parsed


def parse_jsonl(
    content: bytes, text_column: str, label_column: str, labels_column: str = "labels"
) -> ParsedFile:
    """Rows of a JSON Lines file; a record with `labels_column` (a list) instead of
    `label_column` is a multi-label row."""
    parsed = ParsedFile([], [])
    for number, line in enumerate(decode_utf8(content).splitlines(), start=1):
        if not line.strip():
            continue
        location = f"line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            parsed.errors.append(RowError(location, f"invalid JSON: {error.msg}"))
            continue
        except RecursionError:
            parsed.errors.append(RowError(location, "invalid JSON: nested too deeply"))
            continue
        if not isinstance(record, dict):
            parsed.errors.append(RowError(location, "expected a JSON object per line"))
            continue
        multi_label = label_column not in record and labels_column in record
        label = record.get(labels_column if multi_label else label_column)
        parsed.rows.append(RawRow(location, record.get(text_column), label, multi_label))
    return parsed


def _column_index(columns: list[str], wanted: str, parameter: str) -> int:
    if wanted in columns:
        return columns.index(wanted)
    also = " (or 'labels' for multi-label data)" if parameter == "label_column" else ""
    raise UnreadableFile(
        f"column {wanted!r}{also} is missing; the header has {columns}. "
        f"Rename the column or pass {parameter}",
        "line 1",
    )


def _looks_tab_separated(text: str) -> bool:
    first_line = text.split("\n", 1)[0]
    return "\t" in first_line and "," not in first_line
