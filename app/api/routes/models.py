from fastapi import APIRouter, Response

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
from app.core.problems import ValidationFailed
from app.ml.predictor import Prediction
from app.models import Model
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.model import (
    LabelScorePublic,
    ModelPublic,
    ModelsPublic,
    PredictionPublic,
    PredictRequest,
    PredictResponse,
)
from app.services import models

router = APIRouter(prefix="/models", tags=["models"], responses=PROBLEM_RESPONSES)


def to_public(model: Model) -> ModelPublic:
    return ModelPublic(
        id=model.id,
        job_id=model.job_id,
        strategy=model.strategy,
        base_model=model.base_model,
        labels=model.labels,
        metrics=model.metrics,
        size_bytes=model.size_bytes,
        created_at=model.created_at,
    )


def prediction_public(prediction: Prediction) -> PredictionPublic:
    return PredictionPublic(
        label=prediction.label,
        score=prediction.score,
        scores=[LabelScorePublic(label=s.label, score=s.score) for s in prediction.scores],
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


@router.delete("/{model_id}", status_code=204)
def delete_model(
    model: ModelDep, session: SessionDep, store: StoreDep, cache: ModelCacheDep, _key: WriteKey
) -> Response:
    models.delete(session, model=model, store=store)
    cache.evict(model.artifact_key)
    return Response(status_code=204)


@router.post("/{model_id}/predict", response_model=PredictResponse)
def predict(
    body: PredictRequest, model: ModelDep, settings: SettingsDep, cache: ModelCacheDep
) -> PredictResponse:
    """Label one or many texts; each answer carries every label's score, or the best `top_k`."""
    texts = body.texts
    _check_inputs(texts, settings.max_predict_inputs, settings.max_text_chars)
    predictions = cache.get(model.artifact_key).predict(texts, top_k=body.top_k)
    return PredictResponse(
        model_id=model.id, predictions=[prediction_public(p) for p in predictions]
    )


def _check_inputs(texts: list[str], max_inputs: int, max_chars: int) -> None:
    errors = []
    if not texts:
        errors.append({"location": "inputs", "message": "give at least one text"})
    if len(texts) > max_inputs:
        errors.append(
            {"location": "inputs", "message": f"{len(texts)} texts; the limit is {max_inputs}"}
        )
    for index, text in enumerate(texts):
        if not text.strip():
            errors.append({"location": f"inputs[{index}]", "message": "text is empty"})
        elif len(text) > max_chars:
            errors.append(
                {
                    "location": f"inputs[{index}]",
                    "message": f"text has {len(text)} characters; the limit is {max_chars}",
                }
            )
    if errors:
        raise ValidationFailed(errors[0]["message"], errors=errors)
