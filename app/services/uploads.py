"""From an upload (file or JSON examples) to a validated dataset, or every reason it is not one."""

from dataclasses import dataclass

from app.schemas.dataset import ExampleIn
from app.services.dataset_files import (
    ParsedFile,
    RawRow,
    detect_format,
    parse_csv,
    parse_jsonl,
)
from app.services.dataset_validation import DatasetLimits, ValidatedDataset, validate_rows


@dataclass(frozen=True)
class FileUpload:
    content: bytes
    filename: str | None
    content_type: str | None
    text_column: str = "text"
    label_column: str = "label"


def validate_file(upload: FileUpload, limits: DatasetLimits) -> tuple[str, ValidatedDataset]:
    source_format = detect_format(upload.filename, upload.content_type)
    parse = parse_csv if source_format == "csv" else parse_jsonl
    parsed: ParsedFile = parse(upload.content, upload.text_column, upload.label_column)
    return source_format, validate_rows(parsed.rows, limits, parsed.errors)


def validate_examples(examples: list[ExampleIn], limits: DatasetLimits) -> ValidatedDataset:
    rows = [
        RawRow(
            f"examples[{index}]",
            example.text,
            example.labels if example.labels is not None else example.label,
            multi_label=example.labels is not None,
        )
        for index, example in enumerate(examples)
    ]
    return validate_rows(rows, limits)
