"""Reads a dataset upload (multipart file or JSON examples) into a validated dataset."""

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
from app.services.dataset_validation import ValidatedDataset, limits_from
from app.services.uploads import FileUpload, validate_examples, validate_file

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class DatasetUpload:
    name: str
    source_format: str
    data: ValidatedDataset


async def read_dataset_upload(request: Request, settings: Settings) -> DatasetUpload:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(FORM_TYPES):
        return await _from_form(request, settings)
    if content_type.startswith("application/json"):
        return await _from_json(request, settings)
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


async def _from_form(request: Request, settings: Settings) -> DatasetUpload:
    async with request.form(max_files=1, max_fields=10) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise ValidationFailed(
                "the form needs a 'file' field holding the CSV or JSONL file",
                errors=[{"location": "file", "message": "field required"}],
            )
        content = await file.read(settings.max_upload_bytes + 1)
        fields = {key: str(form.get(key) or "").strip() for key in FORM_FIELDS}
    if len(content) > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"the file is over {settings.max_upload_bytes} bytes (ADAPTD_MAX_UPLOAD_BYTES)"
        )
    if "\x00" in fields["name"]:
        raise ValidationFailed(
            "name contains a NUL character",
            errors=[{"location": "name", "message": "must not contain NUL characters"}],
        )
    upload = FileUpload(
        content=content,
        filename=file.filename,
        content_type=file.content_type,
        text_column=fields["text_column"] or "text",
        label_column=fields["label_column"] or "label",
    )
    source_format, data = await run_in_threadpool(validate_file, upload, limits_from(settings))
    return DatasetUpload(fields["name"][:200] or file.filename or "dataset", source_format, data)


async def _from_json(request: Request, settings: Settings) -> DatasetUpload:
    try:
        body = DatasetCreate.model_validate_json(await request.body())
    except ValidationError as error:
        errors = validation_errors([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
        raise ValidationFailed("the JSON body is not a valid dataset", errors=errors) from None
    data = await run_in_threadpool(validate_examples, body.examples, limits_from(settings))
    return DatasetUpload(body.name, "json", data)
