"""A dataset upload as one call: a CSV or JSONL file as multipart, or rows as JSON."""

import mimetypes
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adaptd.client.calls import Call, reader, without_none
from adaptd.client.types import Dataset

Rows = Sequence[Mapping[str, Any]]
Source = str | os.PathLike[str] | Rows


def upload_call(
    source: Source,
    *,
    name: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
) -> Call[Dataset]:
    """`source` is a path to a `.csv` or `.jsonl` file, or rows like `{"text", "label"}`
    (`"labels": [...]` for multi-label data)."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        form = without_none(
            {"name": name, "text_column": text_column, "label_column": label_column}
        )
        return Call(
            "POST",
            "/v1/datasets",
            reader(Dataset),
            files={"file": (path.name, path.read_bytes(), content_type)},
            data=form,
        )
    if text_column or label_column:
        raise TypeError("text_column and label_column apply to files; rows use text and label")
    body = without_none({"name": name, "examples": [dict(row) for row in source]})
    return Call("POST", "/v1/datasets", reader(Dataset), json=body)
