"""What a training process does with a claimed job: plan, train, publish, all under its lease."""

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.ids import new_id
from app.core.storage import ArtifactStore, Mirror, open_store, size_of
from app.ml.arguments import StrategyArguments, TrainedArguments
from app.ml.artifact import save_artifact
from app.ml.auto import AutoOutcome, AutoRun, Decision
from app.ml.data import LabeledExample, TrainingDataError, label_names, stratified_split
from app.ml.device import plan_device
from app.ml.loading import BaseModelError
from app.ml.out_of_scope import choose_threshold
from app.ml.plan import RunContext, StrategyPlan, TrainedClassifier, manifest_for
from app.ml.progress import Callbacks, EpochReport, PauseCheck, TrainingPaused
from app.ml.recipes import DataShape
from app.ml.search import SearchRequest, SearchRun, TrialResult
from app.ml.strategies import Strategy, arguments_for, run, spec_of
from app.ml.warm_start import WarmStart
from app.ml.zero_shot import descriptions_for
from app.models import Evaluation, Job, Model
from app.services import datasets, evaluations, events, leases, strategy_choice
from app.services.progress import JobReporter, LeaseLost


@dataclass(frozen=True)
class _Published:
    model: Model
    evaluation: Evaluation | None


def train(
    session: Session, settings: Settings, job: Job, lease_token: str, should_pause: PauseCheck
) -> None:
    """Plan, train and publish the job's model, under its lease."""
    job_id = job.id
    plan = _plan(session, settings, job)
    device = plan_device(settings.device)
    if not leases.record_device(
        session, job_id=job_id, lease_token=lease_token, device=device.description
    ):
        raise LeaseLost(job_id)
    store = open_store(settings)
    checkpoints = store.checkpoints(job_id)
    checkpoints.pull()
    embeddings = store.embeddings(job.dataset_id) if job.dataset_id else None
    if embeddings is not None:
        embeddings.pull()
    reporting = _Reporting(session, job_id, lease_token, should_pause, checkpoints)
    context = RunContext(
        device=device,
        callbacks=reporting.callbacks(),
        checkpoint_dir=checkpoints.local,
        embeddings_dir=embeddings.local if embeddings else None,
    )
    try:
        plan, trained, settled = _trained(session, job, lease_token, plan, context, reporting)
    except TrainingPaused:
        checkpoints.push()
        raise
    if embeddings is not None:
        embeddings.push()
    published = _publish(settings, store, job, plan, trained)
    if not leases.succeed(
        session,
        job_id=job_id,
        lease_token=lease_token,
        model=published.model,
        progress=reporting.latest,
        evaluation=published.evaluation,
        settled=settled,
    ):
        store.delete(published.model.id)
        raise LeaseLost(job_id)
    checkpoints.delete()


def _trained(
    session: Session,
    job: Job,
    lease_token: str,
    plan: StrategyPlan,
    context: RunContext,
    reporting: "_Reporting",
) -> tuple[StrategyPlan, TrainedClassifier, dict[str, Any]]:
    """The classifier the job asks for, with the plan it was trained by and what the run
    settled about the job (strategy, hyperparameters, search trials)."""
    if job.budget_seconds is not None and job.requested_strategy == "auto":
        outcome = _measure_and_choose(session, job, lease_token, plan, context, reporting)
        return outcome.plan, outcome.trained, _settled_by(outcome)
    if job.search is not None:
        plan, trained, searched = _search(session, job, lease_token, plan, context)
        return plan, trained, {"hyperparameters": plan.arguments.to_dict(), "search": searched}
    return plan, run(plan, context), {}


class _Reporting:
    """Job progress from one run after another: each run gets a fresh reporter, so that its
    steps and time left are its own."""

    def __init__(
        self,
        session: Session,
        job_id: str,
        lease_token: str,
        should_pause: PauseCheck,
        checkpoints: Mirror,
    ) -> None:
        self.session, self.job_id, self.lease_token = session, job_id, lease_token
        self.should_pause, self.checkpoints = should_pause, checkpoints
        self.reporter = JobReporter(session, job_id, lease_token)

    @property
    def latest(self) -> dict[str, Any]:
        return self.reporter.latest

    def callbacks(self, _strategy: Strategy | None = None) -> Callbacks:
        self.reporter = JobReporter(self.session, self.job_id, self.lease_token)
        return Callbacks(self.reporter.on_progress, self._on_epoch, self.should_pause)

    def _on_epoch(self, report: EpochReport) -> None:
        """Each epoch's checkpoint (written just before) goes to the store, so that another
        host can resume the job from it."""
        self.checkpoints.push()
        self.reporter.on_epoch(report)


def _measure_and_choose(
    session: Session,
    job: Job,
    lease_token: str,
    plan: StrategyPlan,
    context: RunContext,
    reporting: _Reporting,
) -> AutoOutcome:
    """`auto`: a plan per strategy that fits the dataset, each with the defaults for the
    examples it trains on, measured within the job's budget (see `app.ml.auto`)."""
    dataset = datasets.get(session, team_id=job.team_id, dataset_id=job.dataset_id or "")
    if dataset is None:
        raise TrainingDataError("the job's dataset was deleted")
    shape = DataShape(examples=len(plan.train), labels=len(plan.labels))
    plans = {
        strategy: replace(
            plan, strategy=strategy, arguments=spec_of(strategy).arguments_of({}, shape)
        )
        for strategy in strategy_choice.contestants(dataset.label_counts)
    }

    def record(decision: Decision) -> None:
        values: dict[str, Any] = {"auto_decision": decision.to_dict()}
        if decision.finishing is not None:
            finishing = plans[Strategy(decision.finishing)]
            values |= {
                "strategy": finishing.strategy,
                "hyperparameters": finishing.arguments.to_dict(),
            }
        event = events.note(job.id, "info", _trial_message(decision), auto=decision.to_dict())
        if not leases.record_values(
            session, job_id=job.id, lease_token=lease_token, values=values, event=event
        ):
            raise LeaseLost(job.id)

    earlier = Decision.from_dict(job.auto_decision) if job.auto_decision else None
    budget = float(job.budget_seconds or 0)
    run_ = AutoRun(
        plans, context, callbacks_for=reporting.callbacks, on_decision=record, budget_seconds=budget
    )
    return run_.run(earlier)


def _search(
    session: Session, job: Job, lease_token: str, plan: StrategyPlan, context: RunContext
) -> tuple[StrategyPlan, TrainedClassifier, dict[str, Any]]:
    """Trials of the job's strategy (see `app.ml.search`), each recorded on the job as it ends,
    so that a retried job goes on from the trials it has."""
    record = dict(job.search or {})
    request = SearchRequest(record["trials"], record.get("budget_seconds"))
    shape = DataShape(examples=len(plan.train), labels=len(plan.labels))

    def on_trials(results: list[TrialResult]) -> None:
        scored = [r for r in results if r.state == "complete" and r.validation_score is not None]
        best = max(scored, key=lambda r: r.validation_score or 0.0) if scored else None
        record.update(
            results=[asdict(r) for r in results],
            best_trial=best.number if best else None,
        )
        latest = results[-1]
        score = "" if latest.validation_score is None else f" {latest.validation_score:.4f}"
        message = (
            f"search: trial {latest.number} {latest.state}{score} in {latest.seconds:.0f} s "
            f"with {latest.params}" + (" (best so far)" if best is latest else "")
        )
        event = events.note(job.id, "info", message, trial=asdict(latest))
        if not leases.record_values(
            session,
            job_id=job.id,
            lease_token=lease_token,
            values={"search": dict(record)},
            event=event,
        ):
            raise LeaseLost(job.id)

    searching = SearchRun(
        plan,
        context,
        request=request,
        given=record.get("given", {}),
        shape=shape,
        on_trials=on_trials,
    )
    earlier = [TrialResult(**result) for result in record.get("results", [])]
    best_plan, trained = searching.run(earlier)
    return best_plan, trained, record


def _trial_message(decision: Decision) -> str:
    if decision.finishing is not None and decision.trials[-1].outcome == "raced":
        return f"auto: finishing `{decision.finishing}`, the best of the raced runs"
    trial = decision.trials[-1]
    score = "" if trial.validation_score is None else f" {trial.validation_score:.4f}"
    projected = trial.projected_seconds
    pace = "" if projected is None else f", projected {projected:.0f} s"
    return (
        f"auto: `{trial.strategy}` {trial.outcome}: validation {decision.metric}{score} "
        f"after {trial.seconds:.0f} s{pace}"
    )


def _settled_by(outcome: AutoOutcome) -> dict[str, Any]:
    return {
        "strategy": outcome.plan.strategy,
        "hyperparameters": outcome.plan.arguments.to_dict(),
        "strategy_reason": outcome.decision.reason,
        "auto_decision": outcome.decision.to_dict(),
    }


def _publish(
    settings: Settings,
    store: ArtifactStore,
    job: Job,
    plan: StrategyPlan,
    trained: TrainedClassifier,
) -> _Published:
    """Write the artifact, then score it as it will be served: loaded back from disk."""
    model_id = new_id("mdl")
    manifest = manifest_for(plan, trained, job.base_model)
    with store.writing(model_id) as directory:
        save_artifact(trained.save, manifest, directory)
        size_bytes = size_of(directory)
    model = Model(
        id=model_id,
        team_id=job.team_id,
        job_id=job.id,
        strategy=plan.strategy,
        base_model=job.base_model,
        labels=trained.labels,
        multi_label=trained.multi_label,
        metrics=trained.metrics,
        artifact_key=model_id,
        size_bytes=size_bytes,
    )
    evaluation = None
    if plan.validation:
        evaluation = evaluations.build(
            settings,
            store,
            model,
            plan.validation,
            dataset_id=job.validation_dataset_id,
            kind="validation",
        )
        model.abstain_threshold = choose_threshold(evaluation.report.get("threshold_sweep", []))
    return _Published(model, evaluation)


def _plan(session: Session, settings: Settings, job: Job) -> StrategyPlan:
    base_model_path = settings.registered_base_models.get(job.base_model)
    if base_model_path is None:
        raise BaseModelError(f"base model {job.base_model!r} is no longer registered")
    arguments = arguments_for(job.strategy, job.hyperparameters)
    split = _split(session, job, arguments)
    corpora = {_corpus_key(job.dataset_id, job, arguments.max_length): _texts(split.examples)}
    if job.validation_dataset_id is not None:
        key = _corpus_key(job.validation_dataset_id, job, arguments.max_length)
        corpora[key] = _texts(split.validation)
    examples = split.examples
    labels = label_names(examples) if examples else sorted(job.label_descriptions or {})
    return StrategyPlan(
        strategy=job.strategy,
        arguments=arguments,
        base_model_path=base_model_path,
        train=split.train,
        validation=split.validation,
        labels=labels,
        descriptions=descriptions_for(labels, job.label_descriptions),
        multi_label=split.multi_label,
        corpora=corpora,
        warm_start=_warm_start(session, settings, job),
    )


def validation_examples(session: Session, job: Job) -> list[LabeledExample]:
    """The examples `job` validated its model on, drawn again as the job drew them."""
    return _split(session, job, arguments_for(job.strategy, job.hyperparameters)).validation


@dataclass(frozen=True)
class _Split:
    examples: list[LabeledExample]
    train: list[LabeledExample]
    validation: list[LabeledExample]
    multi_label: bool


def _split(session: Session, job: Job, arguments: StrategyArguments) -> _Split:
    examples, multi_label = _examples(session, job.dataset_id, job)
    if job.validation_dataset_id is not None:
        validation, _ = _examples(session, job.validation_dataset_id, job)
        return _Split(examples, examples, validation, multi_label)
    if not isinstance(arguments, TrainedArguments):
        return _Split(examples, [], examples, multi_label)
    if job.validation_split is None:
        raise TrainingDataError("the job has neither a validation split nor a validation dataset")
    train, validation = stratified_split(examples, job.validation_split, arguments.seed)
    return _Split(examples, train, validation, multi_label)


def _warm_start(session: Session, settings: Settings, job: Job) -> WarmStart | None:
    if job.init_from_model_id is None:
        return None
    model = session.get(Model, job.init_from_model_id)
    if model is None:
        raise TrainingDataError(
            f"model {job.init_from_model_id}, which this job continues, has been deleted"
        )
    return WarmStart(open_store(settings).fetch(model.artifact_key), model.labels)


def _examples(
    session: Session, dataset_id: str | None, job: Job
) -> tuple[list[LabeledExample], bool]:
    if dataset_id is None:
        if not spec_of(job.strategy).needs_dataset:
            return [], False
        raise TrainingDataError("the job's dataset was deleted")
    dataset = datasets.get(session, team_id=job.team_id, dataset_id=dataset_id)
    if dataset is None:
        raise TrainingDataError(f"dataset {dataset_id} was deleted")
    return datasets.get_examples(session, dataset_id=dataset_id), dataset.multi_label


def _texts(examples: list[LabeledExample]) -> list[str]:
    return [example.text for example in examples]


def _corpus_key(dataset_id: str | None, job: Job, max_length: int) -> str:
    return f"{dataset_id}/{job.base_model}/{max_length}"


def describe_failure(error: Exception) -> tuple[str, str]:
    if isinstance(error, TrainingDataError):
        return "invalid_training_data", str(error)
    if isinstance(error, BaseModelError):
        return "base_model_unavailable", str(error)
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return "out_of_memory", "the GPU ran out of memory; lower batch_size or max_length"
    return "training_error", f"{type(error).__name__}: {error}"
