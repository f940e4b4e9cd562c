"""Serving a model faster, but only with the accuracy change measured first: the model as
trained and its variant on another backend (an ONNX Runtime graph in float32, int8 or float16)
score the same labeled examples, and the variant is served only when accuracy falls by no more
than the caller allows. The API checks the request; a worker measures (a job of kind
`accelerate`, see `scoring`)."""

from collections.abc import Callable, Sequence
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

Scored = Callable[[int], None]


class AccuracyDropTooLarge(Exception):
    """The variant scores worse than the caller allows; the model is served as it was."""


def check_request(session: Session, *, model: Model, method: str, dataset_id: str | None) -> None:
    """What can be known before measuring: the method runs here and there is data to measure
    on (422 naming the field otherwise)."""
    try:
        check_available(Backend(method))
    except BackendUnavailable as error:
        raise _invalid("method", str(error)) from error
    if dataset_id is not None:
        dataset = datasets.get(session, team_id=model.team_id, dataset_id=dataset_id)
        if dataset is None:
            raise _invalid("dataset_id", f"dataset {dataset_id} not found")
        evaluations.check_scorable(model, dataset)
    elif model.job_id is None or session.get(Job, model.job_id) is None:
        raise _invalid(
            "dataset_id", f"the job that trained model {model.id} is gone; give dataset_id"
        )


def measure(
    reference: Predictor,
    variant: Predictor,
    examples: Sequence[LabeledExample],
    *,
    method: str,
    dataset_id: str | None,
    max_accuracy_drop: float,
    on_scored: Scored,
) -> dict[str, Any]:
    """The report of both scoring the same examples; raises AccuracyDropTooLarge when the
    variant's accuracy falls by more than `max_accuracy_drop`."""
    reference_scores, reference_labels = _score(reference, examples, on_scored)
    variant_scores, variant_labels = _score(variant, examples, on_scored)
    change = variant_scores["accuracy"] - reference_scores["accuracy"]
    same = sum(a == b for a, b in zip(reference_labels, variant_labels, strict=True))
    if -change > max_accuracy_drop:
        raise AccuracyDropTooLarge(
            f"{method} changes accuracy by {change:+.4f} ({reference_scores['accuracy']:.4f} → "
            f"{variant_scores['accuracy']:.4f} on {len(examples)} examples), more than "
            f"max_accuracy_drop {max_accuracy_drop}; the model is served as it was"
        )
    return {
        "method": method,
        "dataset_id": dataset_id,
        "num_examples": len(examples),
        "reference": reference_scores,
        "accelerated": variant_scores,
        "accuracy_change": change,
        "max_accuracy_drop": max_accuracy_drop,
        "agreement": same / len(examples),
        "measured_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def examples_for(session: Session, model: Model, dataset_id: str | None) -> list[LabeledExample]:
    """The examples to measure on: `dataset_id`'s, or the model's validation data."""
    if dataset_id is not None:
        dataset = datasets.get(session, team_id=model.team_id, dataset_id=dataset_id)
        if dataset is None:
            raise ValueError(f"dataset {dataset_id} is gone")
        examples = evaluations.examples_to_score(session, model=model, dataset=dataset)
    else:
        examples = _validation_examples(session, model)
    if not examples:
        raise ValueError("there are no examples to measure on; give dataset_id")
    return examples


def stop(session: Session, *, model: Model) -> None:
    model.acceleration = None
    session.flush()


def _validation_examples(session: Session, model: Model) -> list[LabeledExample]:
    job = session.get(Job, model.job_id) if model.job_id else None
    if job is None:
        raise ValueError(f"the job that trained model {model.id} is gone; give dataset_id")
    try:
        return validation_examples(session, job)
    except ValueError as error:
        raise ValueError(
            f"the validation data of model {model.id} is gone ({error}); give dataset_id"
        ) from error


def _score(
    predictor: Predictor, examples: Sequence[LabeledExample], on_scored: Scored
) -> tuple[dict[str, float], list[list[str]]]:
    scored = evaluations.probabilities_of(
        predictor, [example.text for example in examples], on_scored
    )
    report = evaluation_report(
        predictor.labels,
        examples,
        scored.probabilities.numpy(),
        multi_label=predictor.multi_label,
        thresholds=predictor.thresholds if predictor.multi_label else None,
    )
    scores = {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "texts_per_second": len(examples) / max(scored.seconds, 1e-9),
    }
    labels = [prediction.labels for prediction in predictor.predictions(scored.probabilities)]
    return scores, labels


def _invalid(location: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"location": location, "message": message}])
