import logging

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.api.dataset_uploads import UPLOAD_OPENAPI, DatasetUpload, dataset_upload
from app.api.deps import (
    AfterQuery,
    DatasetDep,
    LimitQuery,
    ReadKey,
    SessionDep,
    SettingsDep,
    StoreDep,
    WriteKey,
)
from app.api.idempotency import IdempotencyKey, run_once
from app.core.problems import Conflict
from app.core.storage import ArtifactStoreUnavailable
from app.models import Dataset
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.dataset import DatasetPublic, DatasetsPublic
from app.services import datasets
from app.services.dataset_validation import DatasetLimits, limits_from

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/datasets", tags=["datasets"], responses=PROBLEM_RESPONSES)


def to_public(dataset: Dataset) -> DatasetPublic:
    return DatasetPublic(
        id=dataset.id,
        name=dataset.name,
        format=dataset.source_format,
        num_examples=dataset.num_examples,
        labels=dataset.label_counts,
        multi_label=dataset.multi_label,
        warnings=dataset.warnings,
        parent_id=dataset.parent_id,
        created_at=dataset.created_at,
    )


@router.post("", status_code=201, response_model=DatasetPublic, openapi_extra=UPLOAD_OPENAPI)
async def create_dataset(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    key: WriteKey,
    idempotency_key: IdempotencyKey = None,
) -> DatasetPublic | JSONResponse:
    """Upload labeled examples as a CSV or JSONL file, or as a JSON list; all rows are checked
    before anything is stored."""
    async with dataset_upload(request, settings) as upload:
        return await run_in_threadpool(
            run_once,
            session,
            key=idempotency_key,
            team_id=key.team_id,
            scope="POST /v1/datasets",
            request_fingerprint=upload.fingerprint,
            status_code=201,
            work=lambda: to_public(
                _store(session, team_id=key.team_id, upload=upload, limits=limits_from(settings))
            ),
            settings=settings,
        )


def _store(
    session: Session, *, team_id: str, upload: DatasetUpload, limits: DatasetLimits
) -> Dataset:
    dataset = datasets.create(
        session,
        team_id=team_id,
        name=upload.name,
        source_format=upload.source_format,
        rows=upload.rows,
        limits=limits,
    )
    session.commit()
    return dataset


@router.get("", response_model=DatasetsPublic)
def list_datasets(
    session: SessionDep,
    key: ReadKey,
    limit: LimitQuery = 20,
    after: AfterQuery = None,
) -> DatasetsPublic:
    page = datasets.get_all(session, team_id=key.team_id, limit=limit, after=after)
    return DatasetsPublic(data=[to_public(d) for d in page.items], has_more=page.has_more)


@router.get("/{dataset_id}", response_model=DatasetPublic)
def get_dataset(dataset: DatasetDep) -> DatasetPublic:
    return to_public(dataset)


@router.delete("/{dataset_id}", status_code=204)
def delete_dataset(
    dataset: DatasetDep, session: SessionDep, store: StoreDep, _key: WriteKey
) -> Response:
    """Delete the dataset, and then its cached embeddings (a failed commit keeps both; an
    unreachable store leaves the embeddings to the retention sweep)."""
    if datasets.is_in_use(session, dataset_id=dataset.id):
        raise Conflict(
            f"dataset {dataset.id} is used by a queued or running job; wait or cancel it"
        )
    if names := datasets.triggers_using(session, dataset_id=dataset.id):
        raise Conflict(
            f"dataset {dataset.id} is what triggers {names} train or evaluate on; "
            "delete those triggers first"
        )
    datasets.delete(session, dataset=dataset)
    session.commit()
    try:
        store.embeddings(dataset.id).delete()
    except ArtifactStoreUnavailable as error:
        logger.warning("embeddings of %s left to the retention sweep: %s", dataset.id, error)
    return Response(status_code=204)
