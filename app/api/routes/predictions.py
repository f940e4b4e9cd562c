"""Predictions: the one route that runs for every text the service scores. Its router is
matched before every other (routes are tried in order), and it takes what it needs from one
`Serving` dependency."""

from functools import partial

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from app.api.deps import ServedModel, ServedModelDep, ServingDep
from app.core.problems import ValidationFailed
from app.schemas.common import OVERLOADED_RESPONSE, PROBLEM_RESPONSES
from app.schemas.model import PredictRequest, PredictResponse
from app.serving.answers import predict_answer

JSON = "application/json"

router = APIRouter(prefix="/models", tags=["models"], responses=PROBLEM_RESPONSES)


@router.post(
    "/{model_id}/predict",
    response_model=PredictResponse,
    responses={503: OVERLOADED_RESPONSE},
)
async def predict(
    body: PredictRequest,
    model: ServedModelDep,
    serving: ServingDep,
) -> Response:
    """Label one or many texts; each answer carries every label's score, or the best `top_k`
    (by default, for a model with more than `ADAPTD_PREDICT_DEFAULT_TOP_K` labels, that many).
    `model_id` may be an alias's name; the answer names the model that served it. Concurrent
    requests share forward passes; when the model's queue is full, or the answer takes longer
    than the server's timeout, the answer is 503 with `Retry-After`. A team with more texts
    in flight than its `predict_texts_in_flight` quota is answered 429 with `Retry-After`."""
    settings, cache, caller = serving.settings, serving.model_cache, model.caller
    texts = body.texts
    _check_inputs(texts, settings.max_predict_inputs, settings.max_text_chars)
    thresholds = _thresholds(body.thresholds, model)
    abstain_below = _abstain_threshold(body, model)
    with serving.admission.admit(caller.team_id, len(texts), caller.predict_texts_in_flight):
        predictor = cache.peek(model.artifact_key, model.backend)
        if predictor is None:
            load = partial(cache.get, model.artifact_key, model.backend)
            predictor = await run_in_threadpool(load)
        probabilities = await serving.batcher.probabilities(predictor, texts, tenant=caller.team_id)
    top_k = body.top_k if body.top_k is not None else settings.predict_default_top_k
    ranking = predictor.rank(
        probabilities, top_k=top_k, thresholds=thresholds, abstain_below=abstain_below
    )
    return Response(predict_answer(model.id, predictor.labels, ranking), media_type=JSON)


def _thresholds(
    given: dict[str, float] | float | None, model: ServedModel
) -> dict[str, float] | None:
    if given is None:
        return None
    if not model.multi_label:
        message = "thresholds apply to multi-label models only"
        raise ValidationFailed(message, errors=[{"location": "thresholds", "message": message}])
    if isinstance(given, float | int):
        return dict.fromkeys(model.labels, float(given))
    unknown = sorted(set(given) - set(model.labels))
    if unknown:
        message = f"labels {unknown} are not labels of model {model.id}"
        raise ValidationFailed(message, errors=[{"location": "thresholds", "message": message}])
    return given


def _abstain_threshold(body: PredictRequest, model: ServedModel) -> float | None:
    if "abstain_threshold" not in body.model_fields_set:
        return model.abstain_threshold
    if model.multi_label:
        message = "abstain_threshold applies to single-label models only; use thresholds"
        raise ValidationFailed(
            message, errors=[{"location": "abstain_threshold", "message": message}]
        )
    return body.abstain_threshold


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
