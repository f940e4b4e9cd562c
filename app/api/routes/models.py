from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from app.api.deps import (
    AfterQuery,
    LimitQuery,
    ModelCacheDep,
    ModelDep,
    ReadKey,
    SessionDep,
    SettingsDep,
    StoreDep,
    WriteKey,
)
from app.api.idempotency import IdempotencyKey, run_once
from app.api.routes.jobs import to_public as job_public
from app.core.archives import tar_gz_chunks
from app.core.config import Settings
from app.core.problems import NotFound
from app.core.queue import publish_training
from app.core.storage import ArtifactMissing
from app.models import Evaluation, Job, Model
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.job import JobPublic
from app.schemas.model import (
    AccelerationPublic,
    AccelerationRequest,
    EvaluateRequest,
    EvaluationPublic,
    ModelPublic,
    ModelsPublic,
    ModelUpdate,
)
from app.services import acceleration, dispatch, evaluations, models, scoring_requests
from app.services.idempotency import fingerprint

JSON = "application/json"

router = APIRouter(prefix="/models", tags=["models"], responses=PROBLEM_RESPONSES)


def to_public(model: Model) -> ModelPublic:
    return ModelPublic(
        id=model.id,
        job_id=model.job_id,
        strategy=model.strategy,
        base_model=model.base_model,
        labels=model.labels,
        multi_label=model.multi_label,
        metrics=model.metrics,
        size_bytes=model.size_bytes,
        acceleration=(
            AccelerationPublic.model_validate(model.acceleration) if model.acceleration else None
        ),
        abstain_threshold=model.abstain_threshold,
        created_at=model.created_at,
    )


@router.get("", response_model=ModelsPublic)
def list_models(
    session: SessionDep,
    key: ReadKey,
    limit: LimitQuery = 20,
    after: AfterQuery = None,
) -> ModelsPublic:
    page = models.get_all(session, team_id=key.team_id, limit=limit, after=after)
    return ModelsPublic(data=[to_public(m) for m in page.items], has_more=page.has_more)


@router.get("/{model_id}", response_model=ModelPublic)
def get_model(model: ModelDep) -> ModelPublic:
    return to_public(model)


@router.get(
    "/{model_id}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/gzip": {}}, "description": "The artifact."}},
)
def download_model(model: ModelDep, store: StoreDep) -> StreamingResponse:
    """The model's artifact directory (weights, config, tokenizer, `adaptd.json` with the
    sha256 of every file) as a .tar.gz with one top folder named after the model."""
    try:
        directory = store.fetch(model.artifact_key)
    except ArtifactMissing:
        raise NotFound(
            f"the artifact of model {model.id} is missing from the artifact store"
        ) from None
    return StreamingResponse(
        tar_gz_chunks(directory, model.id),
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{model.id}.tar.gz"'},
    )


@router.patch("/{model_id}", response_model=ModelPublic)
def update_model(
    body: ModelUpdate, model: ModelDep, session: SessionDep, _key: WriteKey
) -> ModelPublic:
    """Set the model's abstain threshold (the only setting a trained model has)."""
    models.update(session, model=model, abstain_threshold=body.abstain_threshold)
    session.commit()
    return to_public(model)


@router.delete("/{model_id}", status_code=204)
def delete_model(
    model: ModelDep, session: SessionDep, store: StoreDep, cache: ModelCacheDep, _key: WriteKey
) -> Response:
    models.delete(session, model=model, store=store)
    cache.evict(model.artifact_key)
    return Response(status_code=204)


@router.put("/{model_id}/acceleration", status_code=202, response_model=JobPublic)
def accelerate_model(
    body: AccelerationRequest,
    model: ModelDep,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    key: WriteKey,
    idempotency_key: IdempotencyKey = None,
) -> JobPublic | JSONResponse:
    """Serve the model from an ONNX Runtime graph of it: `int8` (quantized, CPU), `onnx`
    (float32) or `fp16` (GPU). A job (kind `accelerate`, run by a worker) first scores the
    same labeled examples (the model's validation data, or `dataset_id`) with the model as
    trained and with the graph; only when accuracy falls by no more than
    `max_accuracy_drop` does the model switch, and the job's `result` reports both. Otherwise
    the job fails with `accuracy_drop_too_large` and the model is served as before. A
    method this server cannot run is a 422 at once."""

    def submit() -> JobPublic:
        job = scoring_requests.submit_acceleration(
            session,
            settings=settings,
            model=model,
            method=body.method,
            dataset_id=body.dataset_id,
            max_accuracy_drop=body.max_accuracy_drop,
        )
        return _queued(request, response, session, settings, job)

    return run_once(
        session,
        key=idempotency_key,
        team_id=key.team_id,
        scope="PUT /v1/models/{id}/acceleration",
        request_fingerprint=fingerprint(model.id, body.model_dump(mode="json")),
        status_code=202,
        work=submit,
        settings=settings,
    )


@router.delete("/{model_id}/acceleration", status_code=204)
def stop_accelerating_model(
    model: ModelDep, session: SessionDep, cache: ModelCacheDep, _key: WriteKey
) -> Response:
    """Serve the model as trained again."""
    acceleration.stop(session, model=model)
    session.commit()
    cache.evict(model.artifact_key)
    return Response(status_code=204)


@router.post("/{model_id}/evaluate", status_code=202, response_model=JobPublic)
def evaluate_model(
    body: EvaluateRequest,
    model: ModelDep,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    key: WriteKey,
    idempotency_key: IdempotencyKey = None,
) -> JobPublic | JSONResponse:
    """Score the model on every example of a labeled dataset, in a job (kind `evaluate`, run
    by a worker); when it succeeds its `result` names the evaluation, which
    GET /v1/models/{id}/evaluation?dataset_id= returns."""

    def submit() -> JobPublic:
        job = scoring_requests.submit_evaluation(
            session, settings=settings, model=model, dataset_id=body.dataset_id
        )
        return _queued(request, response, session, settings, job)

    return run_once(
        session,
        key=idempotency_key,
        team_id=key.team_id,
        scope="POST /v1/models/{id}/evaluate",
        request_fingerprint=fingerprint(model.id, body.dataset_id),
        status_code=202,
        work=submit,
        settings=settings,
    )


def _queued(
    request: Request, response: Response, session: Session, settings: Settings, job: Job
) -> JobPublic:
    """The queued job's answer, committed and published to the workers where there are any."""
    session.commit()
    celery = request.app.state.celery
    if celery is not None:
        dispatch.publish_due(session, settings=settings, send=partial(publish_training, celery))
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job_public(job)


@router.get("/{model_id}/evaluation", response_model=EvaluationPublic)
def get_evaluation(
    model: ModelDep,
    session: SessionDep,
    dataset_id: Annotated[
        str | None,
        Query(
            max_length=40,
            description="The latest report on this dataset; without it, the validation report.",
        ),
    ] = None,
) -> EvaluationPublic:
    evaluation = evaluations.get_latest(session, model_id=model.id, dataset_id=dataset_id)
    if evaluation is None:
        where = f"on dataset {dataset_id}" if dataset_id else "on validation data"
        raise NotFound(f"model {model.id} has no evaluation {where}")
    return evaluation_public(evaluation)


def evaluation_public(evaluation: Evaluation) -> EvaluationPublic:
    return EvaluationPublic(
        id=evaluation.id,
        model_id=evaluation.model_id,
        dataset_id=evaluation.dataset_id,
        kind=evaluation.kind,
        report=evaluation.report,
        created_at=evaluation.created_at,
    )
