"""Checks a job request against the team's data and the registered base models."""

from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.problems import ValidationFailed
from app.ml.arguments import StrategyArguments
from app.ml.auto import BUDGET_PRESETS
from app.ml.data import held_out_count
from app.ml.recipes import DataShape
from app.ml.search import searchable
from app.ml.strategies import Strategy, spec_of
from app.models import Dataset, Job
from app.schemas.hyperparameters import HYPERPARAMETERS, RequestedStrategy
from app.schemas.job import JobCreate
from app.services import datasets, events, jobs, models, quotas, strategy_choice
from app.services.quotas import Quota

DEFAULT_VALIDATION_SPLIT = 0.1


def submit(session: Session, *, team_id: str, request: JobCreate, settings: Settings) -> Job:
    """A job a team asked for: within its `active_jobs` quota, checked and added."""
    quotas.check_room(session, settings=settings, team_id=team_id, quota=Quota.active_jobs)
    return add(session, team_id=team_id, request=request, settings=settings)


def add(session: Session, *, team_id: str, request: JobCreate, settings: Settings) -> Job:
    """Check the request and add its job to the session, uncommitted."""
    dataset = _dataset(session, team_id, request)
    base_model = (
        request.base_model or _base_of(session, team_id, request) or settings.default_base_model
    )
    if base_model not in settings.registered_base_models:
        known = sorted(settings.registered_base_models)
        raise _invalid("base_model", f"unknown base model {base_model!r}; known: {known}")
    validation = _validation_dataset(session, team_id, request, dataset)
    budget_seconds = request.budget_seconds or BUDGET_PRESETS[request.budget]
    strategy, reason = _strategy(request, dataset, budget_seconds)
    if request.init_from_model is not None and request.strategy == "auto":
        raise _invalid(
            "init_from_model",
            "`auto` starts from the base model; name `full` or `lora` to continue a model",
        )
    if request.init_from_model is not None:
        _check_init_model(session, team_id, request.init_from_model, strategy, base_model, dataset)
    labels = set(dataset.label_counts) if dataset else set(request.label_descriptions or {})
    _check_descriptions(request, labels, strategy)
    validation_split = request.validation_split
    if not spec_of(strategy).trains_on_examples:
        validation_split = None
    elif request.validation_dataset_id is None and validation_split is None:
        validation_split = DEFAULT_VALIDATION_SPLIT
    shape = (
        _shape(dataset, validation_split)
        if spec_of(strategy).trains_on_examples
        else _given_texts(dataset, validation, labels)
    )
    arguments = _arguments(strategy, request.hyperparameters, shape)
    _check_search(request, strategy)
    job = jobs.create(
        session,
        team_id=team_id,
        dataset_id=dataset.id if dataset else None,
        strategy=strategy,
        requested_strategy=request.strategy,
        strategy_reason=reason,
        init_from_model_id=request.init_from_model,
        budget=request.budget,
        budget_seconds=budget_seconds if _measures(request, dataset) else None,
        search=_search_of(request),
        base_model=base_model,
        hyperparameters=arguments.to_dict(),
        label_descriptions=request.label_descriptions,
        validation_split=validation_split,
        validation_dataset_id=request.validation_dataset_id,
        metadata=request.metadata,
        max_attempts=request.max_attempts,
    )
    warnings = spec_of(strategy).warnings(shape, arguments) if shape is not None else []
    if spec_of(strategy).trains_on_examples and dataset is not None:
        warnings += _validation_warnings(dataset, validation, validation_split, request.strategy)
    for warning in warnings:
        session.add(events.note(job.id, "warning", warning))
    return job


MIN_TRUSTED_VALIDATION_TEXTS = 100


def _validation_warnings(
    dataset: Dataset,
    validation: Dataset | None,
    validation_split: float | None,
    requested: RequestedStrategy,
) -> list[str]:
    """A warning when the texts a job validates on are too few for its choices to rest on."""
    texts = validation.num_examples if validation else _held_out(dataset, validation_split)
    if not texts or texts >= MIN_TRUSTED_VALIDATION_TEXTS:
        return []
    source = (
        f"validation dataset {validation.id}"
        if validation
        else f"held out of the dataset by validation_split {validation_split}"
    )
    choices = "the epoch kept, the abstain threshold and the calibration"
    if requested == "auto":
        choices = f"the strategy `auto` chooses, {choices}"
    return [
        f"the job validates on {texts} texts ({source}): one text moves its validation "
        f"accuracy by {100 / texts:.1f} points, and {choices} rest on them; give a "
        f"validation_dataset_id with at least {MIN_TRUSTED_VALIDATION_TEXTS} labeled texts "
        "the model will see"
    ]


def _held_out(dataset: Dataset, validation_split: float | None) -> int:
    """How many of the dataset's examples the job's validation split holds out."""
    if not validation_split:
        return 0
    if dataset.multi_label:
        return max(1, round(dataset.num_examples * validation_split))
    return held_out_count(dataset.label_counts.values(), validation_split)


def _shape(dataset: Dataset | None, validation_split: float | None) -> DataShape | None:
    """What the job will train on, as far as the dataset tells before the split is drawn."""
    if dataset is None:
        return None
    held_out = _held_out(dataset, validation_split)
    return DataShape(examples=dataset.num_examples - held_out, labels=len(dataset.label_counts))


def _given_texts(
    dataset: Dataset | None, validation: Dataset | None, labels: set[str]
) -> DataShape:
    """The texts of the job's dataset and validation dataset, over its labels."""
    texts = sum(given.num_examples for given in (dataset, validation) if given is not None)
    return DataShape(examples=texts, labels=len(labels))


def _dataset(session: Session, team_id: str, request: JobCreate) -> Dataset | None:
    if request.dataset_id is None:
        if _may_go_without_dataset(request.strategy) and request.label_descriptions:
            return None
        without = [f"`{s}`" for s in Strategy if not spec_of(s).needs_dataset]
        raise _invalid(
            "dataset_id",
            f"give a dataset_id; only {', '.join(without)} (or `auto`) with label_descriptions "
            "works without one",
        )
    dataset = datasets.get(session, team_id=team_id, dataset_id=request.dataset_id)
    if dataset is None:
        raise _invalid("dataset_id", f"dataset {request.dataset_id} not found")
    return dataset


def _may_go_without_dataset(strategy: RequestedStrategy) -> bool:
    return strategy == "auto" or not spec_of(strategy).needs_dataset


def _base_of(session: Session, team_id: str, request: JobCreate) -> str | None:
    """A continued model keeps its base model unless the request names one."""
    if request.init_from_model is None:
        return None
    model = models.get(session, team_id=team_id, model_id=request.init_from_model)
    return model.base_model if model else None


def _check_init_model(
    session: Session,
    team_id: str,
    model_id: str,
    strategy: Strategy,
    base_model: str,
    dataset: Dataset | None,
) -> None:
    where = "init_from_model"
    model = models.get(session, team_id=team_id, model_id=model_id)
    if model is None:
        raise _invalid(where, f"model {model_id} not found")
    if not spec_of(strategy).continues_from_model or model.strategy != strategy:
        continuing = " and ".join(f"`{s}`" for s in Strategy if spec_of(s).continues_from_model)
        raise _invalid(
            where,
            f"model {model_id} is a {model.strategy!r} model; only {continuing} models "
            f"continue, with the same strategy (this job's is {strategy.value!r})",
        )
    if model.base_model != base_model:
        raise _invalid(
            where, f"model {model_id} was trained from {model.base_model!r}, not {base_model!r}"
        )
    if dataset is None:
        raise _invalid(where, "continuing a model needs a dataset")
    missing = sorted(set(model.labels) - set(dataset.label_counts))
    if missing:
        raise _invalid(
            where,
            f"dataset {dataset.id} lacks labels {missing} of model {model_id}; a continued "
            "model keeps every label, so give it examples of each",
        )
    if dataset.multi_label != model.multi_label:
        raise _invalid(where, f"model {model_id} and dataset {dataset.id} differ in multi-label")


def _validation_dataset(
    session: Session, team_id: str, request: JobCreate, dataset: Dataset | None
) -> Dataset | None:
    """The job's validation dataset, checked against its training dataset or descriptions."""
    if request.validation_dataset_id is None:
        return None
    validation = datasets.get(session, team_id=team_id, dataset_id=request.validation_dataset_id)
    if validation is None:
        raise _invalid(
            "validation_dataset_id", f"dataset {request.validation_dataset_id} not found"
        )
    known = set(dataset.label_counts) if dataset else set(request.label_descriptions or {})
    unknown = sorted(set(validation.label_counts) - known)
    if unknown:
        source = f"the training dataset {dataset.id}" if dataset else "label_descriptions"
        raise _invalid("validation_dataset_id", f"labels {unknown} are not in {source}")
    if dataset is not None and validation.multi_label != dataset.multi_label:
        raise _invalid(
            "validation_dataset_id",
            "the validation dataset and the training dataset must both be multi-label or "
            "both single-label",
        )
    return validation


def _check_search(request: JobCreate, strategy: Strategy) -> None:
    if request.search is None:
        return
    if request.strategy == "auto":
        raise _invalid("search", "`auto` measures strategies itself; name a strategy to search")
    if not searchable(strategy):
        names = ", ".join(f"`{s}`" for s in Strategy if searchable(s))
        raise _invalid("search", f"`{strategy}` has no hyperparameters to search; {names} do")
    if request.init_from_model is not None:
        raise _invalid("search", "a search starts from the base model; leave out init_from_model")


def _search_of(request: JobCreate) -> dict[str, Any] | None:
    if request.search is None:
        return None
    return request.search.model_dump() | {
        "given": dict(request.hyperparameters),
        "results": [],
        "best_trial": None,
    }


def _measures(request: JobCreate, dataset: Dataset | None) -> bool:
    """An `auto` job with examples measures strategies when it runs."""
    return request.strategy == "auto" and dataset is not None and bool(dataset.label_counts)


def _strategy(
    request: JobCreate, dataset: Dataset | None, budget_seconds: int
) -> tuple[Strategy, str | None]:
    counts = dataset.label_counts if dataset else None
    if request.strategy == "auto":
        if request.hyperparameters and _measures(request, dataset):
            raise _invalid(
                "hyperparameters",
                "`auto` measures each strategy with its defaults; name a strategy to set "
                "hyperparameters",
            )
        return strategy_choice.choose(counts, budget_seconds)
    if counts is not None and spec_of(request.strategy).trains_on_examples:
        refusal = strategy_choice.refusal(request.strategy, counts)
        if refusal:
            raise _invalid("strategy", refusal)
    return request.strategy, None


def _check_descriptions(request: JobCreate, labels: set[str], strategy: Strategy) -> None:
    described = set(request.label_descriptions or {})
    unknown = sorted(described - labels)
    if unknown:
        raise _invalid(
            "label_descriptions",
            f"labels {unknown} are not in the dataset; known: {sorted(labels)}",
        )
    if not spec_of(strategy).needs_dataset and len(labels) < 2:
        raise _invalid("label_descriptions", f"{strategy} needs at least 2 labels to choose from")


def check_hyperparameters(strategy: RequestedStrategy, given: dict[str, Any]) -> None:
    """Refuse now what a job of `strategy` would refuse later."""
    if strategy != "auto":
        _arguments(strategy, given, None)
    elif given:
        raise _invalid(
            "hyperparameters",
            "`auto` measures each strategy with its defaults; name a strategy to set "
            "hyperparameters",
        )


def _arguments(
    strategy: Strategy, given: dict[str, Any], shape: DataShape | None
) -> StrategyArguments:
    """The hyperparameters the job will use: the given ones, checked, over the strategy's
    defaults for data of this shape."""
    try:
        checked = HYPERPARAMETERS[strategy].model_validate(given)
    except ValidationError as error:
        errors = [
            {
                "location": ".".join(["hyperparameters", *map(str, item["loc"])]),
                "message": f"{item['msg']} (for strategy {strategy})",
            }
            for item in error.errors()
        ]
        raise ValidationFailed(errors[0]["message"], errors=errors) from error
    arguments: StrategyArguments = spec_of(strategy).arguments_of(
        checked.model_dump(exclude_unset=True), shape
    )
    return arguments


def _invalid(location: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"location": location, "message": message}])
