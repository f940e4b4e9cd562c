"""Evaluation reports of models: on their validation data when trained, on any labeled
dataset on request."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.ids import new_id
from app.core.problems import ValidationFailed
from app.core.storage import ArtifactStore
from app.ml.data import LabeledExample
from app.ml.evaluation import evaluation_report
from app.ml.predictor import Predictor
from app.models import Dataset, Evaluation, Model
from app.services import datasets

SCORE_CHUNK = 256


def build(
    settings: Settings,
    store: ArtifactStore,
    model: Model,
    examples: Sequence[LabeledExample],
    *,
    dataset_id: str | None,
    kind: str,
) -> Evaluation:
    directory = store.fetch(model.artifact_key)
    predictor = Predictor.from_pretrained(directory, settings.registered_base_models)
    return score(predictor, model, examples, dataset_id=dataset_id, kind=kind)


@dataclass(frozen=True)
class Scores:
    probabilities: torch.Tensor
    seconds: float


def probabilities_of(
    predictor: Predictor, texts: Sequence[str], on_scored: Callable[[int], None]
) -> Scores:
    """Every text's probabilities, scored SCORE_CHUNK texts at a time; `on_scored` hears how
    many texts each chunk scored."""
    started = time.perf_counter()
    chunks = []
    for start in range(0, len(texts), SCORE_CHUNK):
        chunk = texts[start : start + SCORE_CHUNK]
        chunks.append(predictor.probabilities(chunk))
        on_scored(len(chunk))
    probabilities = torch.cat(chunks) if chunks else torch.empty(0, len(predictor.labels))
    return Scores(probabilities, time.perf_counter() - started)


def score(
    predictor: Predictor,
    model: Model,
    examples: Sequence[LabeledExample],
    *,
    dataset_id: str | None,
    kind: str,
    on_scored: Callable[[int], None] = lambda _count: None,
) -> Evaluation:
    texts = [example.text for example in examples]
    probabilities = probabilities_of(predictor, texts, on_scored).probabilities.numpy()
    report = evaluation_report(
        predictor.labels,
        examples,
        probabilities,
        multi_label=predictor.multi_label,
        thresholds=predictor.thresholds if predictor.multi_label else None,
    )
    return Evaluation(
        id=new_id("evl"),
        team_id=model.team_id,
        model_id=model.id,
        dataset_id=dataset_id,
        kind=kind,
        report=report,
    )


def examples_to_score(session: Session, *, model: Model, dataset: Dataset) -> list[LabeledExample]:
    """The examples of `dataset`, which must be of the model's kind and labels (422 otherwise)."""
    check_scorable(model, dataset)
    return datasets.get_examples(session, dataset_id=dataset.id)


def check_scorable(model: Model, dataset: Dataset) -> None:
    """`dataset` must be of the model's kind and labels (422 otherwise)."""
    unknown = sorted(set(dataset.label_counts) - set(model.labels))
    if unknown:
        raise _invalid(f"labels {unknown} of dataset {dataset.id} are not labels of the model")
    if dataset.multi_label != model.multi_label:
        kinds = {True: "multi-label", False: "single-label"}
        raise _invalid(
            f"dataset {dataset.id} is {kinds[dataset.multi_label]} but the model is "
            f"{kinds[model.multi_label]}"
        )


def get_latest(session: Session, *, model_id: str, dataset_id: str | None) -> Evaluation | None:
    statement = select(Evaluation).where(Evaluation.model_id == model_id)
    if dataset_id is None:
        statement = statement.where(Evaluation.kind == "validation")
    else:
        statement = statement.where(Evaluation.dataset_id == dataset_id)
    return session.scalars(statement.order_by(Evaluation.id.desc()).limit(1)).first()


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"location": "dataset_id", "message": message}])
