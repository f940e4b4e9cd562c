from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from app.api.deps import DatasetDep, ReadKey, SessionDep, SettingsDep, WriteKey
from app.api.errors import validation_errors
from app.core.config import Settings
from app.core.problems import Conflict, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from app.models import Dataset
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.dataset import DatasetCreate, DatasetPublic, DatasetsPublic
from app.services import datasets
from app.services.dataset_validation import DatasetLimits, ValidatedDataset
from app.services.uploads import FileUpload, validate_examples, validate_file

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=PROBLEM_RESPONSES)

FORM_FIELDS = ("name", "text_column", "label_column")
UPLOAD_BODY = {
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
            "application/json": {"schema": DatasetCreate.model_json_schema()},
        },
    }
}


def to_public(dataset: Dataset) -> DatasetPublic:
    return DatasetPublic(
        id=dataset.id,
        name=dataset.name,
        format=dataset.source_format,
        num_examples=dataset.num_examples,
        labels=dataset.label_counts,
        warnings=dataset.warnings,
        created_at=dataset.created_at,
    )


@router.post("", status_code=201, response_model=DatasetPublic, openapi_extra=UPLOAD_BODY)
async def create_dataset(
    request: Request, session: SessionDep, settings: SettingsDep, key: WriteKey
) -> DatasetPublic:
    """Upload labeled examples as a CSV or JSONL file, or as a JSON list; all rows are checked
    before anything is stored."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        name, source_format, data = await _from_form(request, settings)
    elif content_type.startswith("application/json"):
        name, source_format, data = await _from_json(request, settings)
    else:
        raise UnsupportedMediaType(
            "send multipart/form-data with a 'file' field, or application/json with 'examples'"
        )
    dataset = await run_in_threadpool(
        _store, session, team_id=key.team_id, name=name, source_format=source_format, data=data
    )
    return to_public(dataset)


def _store(
    session: Session, *, team_id: str, name: str, source_format: str, data: ValidatedDataset
) -> Dataset:
    dataset = datasets.create(
        session, team_id=team_id, name=name, source_format=source_format, data=data
    )
    session.commit()
    return dataset


def _limits(settings: Settings) -> DatasetLimits:
    return DatasetLimits(
        max_examples=settings.max_examples,
        max_text_chars=settings.max_text_chars,
        imbalance_warning_ratio=settings.imbalance_warning_ratio,
    )


async def _from_form(request: Request, settings: Settings) -> tuple[str, str, ValidatedDataset]:
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
    upload = FileUpload(
        content=content,
        filename=file.filename,
        content_type=file.content_type,
        text_column=fields["text_column"] or "text",
        label_column=fields["label_column"] or "label",
    )
    source_format, data = await run_in_threadpool(validate_file, upload, _limits(settings))
    return fields["name"][:200] or file.filename or "dataset", source_format, data


async def _from_json(request: Request, settings: Settings) -> tuple[str, str, ValidatedDataset]:
    try:
        body = DatasetCreate.model_validate_json(await request.body())
    except ValidationError as error:
        errors = validation_errors([{**e, "loc": ("body", *e["loc"])} for e in error.errors()])
        raise ValidationFailed("the JSON body is not a valid dataset", errors=errors) from None
    data = await run_in_threadpool(validate_examples, body.examples, _limits(settings))
    return body.name, "json", data


@router.get("", response_model=DatasetsPublic)
def list_datasets(
    session: SessionDep,
    key: ReadKey,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(max_length=40)] = None,
) -> DatasetsPublic:
    page = datasets.get_all(session, team_id=key.team_id, limit=limit, after=after)
    return DatasetsPublic(data=[to_public(d) for d in page.items], has_more=page.has_more)


@router.get("/{dataset_id}", response_model=DatasetPublic)
def get_dataset(dataset: DatasetDep) -> DatasetPublic:
    return to_public(dataset)


@router.delete("/{dataset_id}", status_code=204)
def delete_dataset(dataset: DatasetDep, session: SessionDep, _key: WriteKey) -> Response:
    if datasets.is_in_use(session, dataset_id=dataset.id):
        raise Conflict(
            f"dataset {dataset.id} is used by a queued or running job; wait or cancel it"
        )
    datasets.delete(session, dataset=dataset)
    session.commit()
    return Response(status_code=204)
