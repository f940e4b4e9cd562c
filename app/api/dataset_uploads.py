"""Reads a dataset upload (multipart file or JSON examples) into rows to check and store.

A file stays where the form parser spooled it (on disk past a megabyte) and is read as a
stream, so that an upload of any size is checked in bounded memory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from app.api.errors import validation_errors
from app.core.config import Settings
from app.core.problems import PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from app.schemas.dataset import DatasetCreate
from app.services.datasets import RowSource
from app.services.idempotency import fingerprint
from app.services.uploads import FileUpload, example_rows, file_rows, file_sha256

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class DatasetUpload:
    name: str
    source_format: str
    rows: RowSource
    fingerprint: str
    """Tells a repeat of this request (same name, columns and bytes) from another."""


@asynccontextmanager
async def dataset_upload(request: Request, settings: Settings) -> AsyncIterator[DatasetUpload]:
    """The upload, readable until the block ends."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_TYPES):
        async with _from_form(request, settings) as upload:
            yield upload
    elif content_type.startswith("application/json"):
        yield await _from_json(request)
    else:
        raise UnsupportedMediaType(
            "send multipart/form-data with a 'file' field, or application/json with 'examples'"
        )


FORM_FIELDS = ("name", "text_column", "label_column")


def inline_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema without `$defs`, for places in the OpenAPI document that cannot hold them."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


UPLOAD_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "name": {"type": "string"},
                        "text_column": {"type": "string", "default": "text"},
                        "label_column": {"type": "string", "default": "label"},
                    },
                }
            },
            "application/json": {"schema": inline_definitions(DatasetCreate.model_json_schema())},
        },
    }
}


@asynccontextmanager
async def _from_form(request: Request, settings: Settings) -> AsyncIterator[DatasetUpload]:
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ValidationFailed(
                "the form needs a 'file' field holding the CSV or JSONL file",
                errors=[{"location": "file", "message": "field required"}],
            )
        if (file.size or 0) > settings.max_upload_bytes:
            raise PayloadTooLarge(
                f"the file is over {settings.max_upload_bytes} bytes (ADAPTD_MAX_UPLOAD_BYTES)"
            )
        fields = {key: str(form.get(key) or "").strip() for key in FORM_FIELDS}
        if "\x00" in fields["name"]:
            raise ValidationFailed(
                "name contains a NUL character",
                errors=[{"location": "name", "message": "must not contain NUL characters"}],
            )
        upload = FileUpload(
            file=file.file,
            filename=file.filename,
            content_type=file.content_type,
            text_column=fields["text_column"] or "text",
            label_column=fields["label_column"] or "label",
        )
        source_format, rows = file_rows(upload)
        name = fields["name"][:200] or file.filename or "dataset"
        digest = await run_in_threadpool(file_sha256, file.file)
        yield DatasetUpload(
            name,
            source_format,
            rows,
            fingerprint(name, source_format, upload.text_column, upload.label_column, digest),
        )


async def _from_json(request: Request) -> DatasetUpload:
    try:
        body = DatasetCreate.model_validate_json(await request.body())
    except ValidationError as error:
        errors = validation_errors([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
        raise ValidationFailed("the JSON body is not a valid dataset", errors=errors) from None
    rows = example_rows(body.examples)
    examples = [example.model_dump(mode="json") for example in body.examples]
    return DatasetUpload(body.name, "json", lambda: rows, fingerprint(body.name, "json", examples))
