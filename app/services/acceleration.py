"""Serving a model faster, but only with the accuracy change measured first: the model as
trained and its variant on another backend (an ONNX Runtime graph in float32, int8 or float16)
score the same labeled examples, and the variant is served only when accuracy falls by no more
than the caller allows."""

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.core.problems import ValidationFailed
from app.ml.data import LabeledExample
from app.ml.evaluation import evaluation_report
from app.ml.predictor import Predictor
from app.ml.runtime import Backend, BackendUnavailable, check_available
from app.models import Job, Model
from app.services import datasets, evaluations
from app.services.training import validation_examples
from app.serving.cache import ModelCache


def accelerate(
    session: Session,
    *,
    cache: ModelCache,
    model: Model,
    method: str,
    dataset_id: str | None,
    max_accuracy_drop: float,
) -> dict[str, Any]:
    """Measure, then serve `model` with `method` if accuracy falls by at most
    `max_accuracy_drop` on `dataset_id` (by default the model's validation data)."""
    backend = Backend(method)
    try:
        check_available(backend)
        variant = cache.load(model.artifact_key, backend)
    except BackendUnavailable as error:
        raise _invalid("method", str(error)) from error
    examples = _examples(session, model, dataset_id)
    reference, reference_labels = _measure(cache.get(model.artifact_key), examples)
    accelerated, accelerated_labels = _measure(variant, examples)
    change = accelerated["accuracy"] - reference["accuracy"]
    same = sum(a == b for a, b in zip(reference_labels, accelerated_labels, strict=True))
    report = {
        "method": method,
        "dataset_id": dataset_id,
        "num_examples": len(examples),
        "reference": reference,
        "accelerated": accelerated,
        "accuracy_change": change,
        "max_accuracy_drop": max_accuracy_drop,
        "agreement": same / len(examples),
        "measured_at": datetime.now(UTC).isoformat(),
    }
    if -change > max_accuracy_drop:
        message = (
            f"{method} changes accuracy by {change:+.4f} ({reference['accuracy']:.4f} → "
            f"{accelerated['accuracy']:.4f} on {len(examples)} examples), more than "
            f"max_accuracy_drop {max_accuracy_drop}; the model is served as it was"
        )
        raise ValidationFailed(
            message, errors=[{"location": "max_accuracy_drop", "message": message}]
        )
    model.acceleration = report
    session.commit()
    cache.evict(model.artifact_key)
    return report


def stop(session: Session, *, cache: ModelCache, model: Model) -> None:
    model.acceleration = None
    session.commit()
    cache.evict(model.artifact_key)


def _examples(session: Session, model: Model, dataset_id: str | None) -> list[LabeledExample]:
    if dataset_id is not None:
        dataset = datasets.get(session, team_id=model.team_id, dataset_id=dataset_id)
        if dataset is None:
            raise _invalid("dataset_id", f"dataset {dataset_id} not found")
        examples = evaluations.examples_to_score(session, model=model, dataset=dataset)
    else:
        examples = _validation_examples(session, model)
    if not examples:
        raise _invalid("dataset_id", "there are no examples to measure on; give dataset_id")
    return examples


def _validation_examples(session: Session, model: Model) -> list[LabeledExample]:
    job = session.get(Job, model.job_id) if model.job_id else None
    if job is None:
        raise _invalid(
            "dataset_id", f"the job that trained model {model.id} is gone; give dataset_id"
        )
    try:
        return validation_examples(session, job)
    except ValueError as error:
        raise _invalid(
            "dataset_id",
            f"the validation data of model {model.id} is gone ({error}); give dataset_id",
        ) from error


def _measure(
    predictor: Predictor, examples: Sequence[LabeledExample]
) -> tuple[dict[str, float], list[list[str]]]:
    texts = [example.text for example in examples]
    started = time.perf_counter()
    probabilities = predictor.probabilities(texts)
    elapsed = time.perf_counter() - started
    report = evaluation_report(
        predictor.labels,
        examples,
        probabilities.numpy(),
        multi_label=predictor.multi_label,
        thresholds=predictor.thresholds if predictor.multi_label else None,
    )
    scores = {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "texts_per_second": len(texts) / max(elapsed, 1e-9),
    }
    labels = [prediction.labels for prediction in predictor.predictions(probabilities)]
    return scores, labels


def _invalid(location: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"location": location, "message": message}])
