"""The retraining loop: a fire makes a dataset version and a job; when the job ends, the gate
scores the candidate and the alias's model on the trigger's evaluation dataset and moves the
alias only if the candidate is better by at least `min_delta`."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.ids import new_id
from app.core.storage import ArtifactStore
from app.models import TERMINAL_STATUSES, Dataset, Job, JobStatus, Model, Trigger, TriggerRun
from app.models.base import utcnow
from app.schemas.dataset import ExampleIn
from app.schemas.job import JobCreate
from app.services import (
    aliases,
    dataset_versions,
    datasets,
    evaluations,
    job_requests,
    quotas,
    triggers,
)
from app.services.dataset_validation import limits_from
from app.services.queries import rowcount
from app.services.quotas import Quota
from app.services.webhook_events import emit

logger = logging.getLogger(__name__)

STALE_EVALUATION = timedelta(minutes=15)


@dataclass(frozen=True)
class Fired:
    run: TriggerRun
    coalesced: bool
    dataset_id: str


def fire(
    session: Session,
    *,
    trigger: Trigger,
    message_id: str,
    examples: list[ExampleIn],
    settings: Settings,
) -> Fired:
    """New examples become a new dataset version; then a retrain starts, or, while one is
    running, the call joins it and one more retrain follows it on the new data."""
    session.refresh(trigger, with_for_update=session.get_bind().dialect.name == "postgresql")
    if examples:
        parent = session.get(Dataset, trigger.dataset_id)
        assert parent is not None
        version = dataset_versions.create(
            session, parent=parent, examples=examples, limits=limits_from(settings)
        )
        trigger.dataset_id = version.id
    run = triggers.active_run(session, trigger_id=trigger.id)
    coalesced = run is not None
    if run is None:
        quotas.check_room(
            session, settings=settings, team_id=trigger.team_id, quota=Quota.active_jobs
        )
        run = start_run(session, trigger=trigger, settings=settings)
    elif examples:
        trigger.rerun_requested = True
    answer = {"run_id": run.id, "coalesced": coalesced, "dataset_id": trigger.dataset_id}
    triggers.record_fire(session, trigger_id=trigger.id, message_id=message_id, answer=answer)
    session.flush()
    return Fired(run, coalesced, trigger.dataset_id)


def start_run(session: Session, *, trigger: Trigger, settings: Settings) -> TriggerRun:
    request = JobCreate.model_validate(
        {**trigger.job, "dataset_id": trigger.dataset_id, "metadata": {"trigger_id": trigger.id}}
    )
    job = job_requests.add(session, team_id=trigger.team_id, request=request, settings=settings)
    run = TriggerRun(
        id=new_id("trr"),
        trigger_id=trigger.id,
        status="training",
        dataset_id=trigger.dataset_id,
        job_id=job.id,
    )
    session.add(run)
    return run


@dataclass(frozen=True)
class RunClaim:
    """A run taken for deciding; `claimed_at` is the claim's token: a decider whose claim was
    taken over (it ran past STALE_EVALUATION) finds it changed and writes nothing."""

    run_id: str
    claimed_at: datetime


def claim_finished(session: Session) -> list[RunClaim]:
    """Runs whose job has ended (or whose evaluation was abandoned), claimed one by one."""
    stale = utcnow() - STALE_EVALUATION
    candidates = session.execute(
        select(TriggerRun.id, TriggerRun.status, TriggerRun.claimed_at)
        .join(Job, Job.id == TriggerRun.job_id)
        .where(
            or_(
                (TriggerRun.status == "training") & Job.status.in_(TERMINAL_STATUSES),
                (TriggerRun.status == "evaluating") & (TriggerRun.claimed_at < stale),
            )
        )
    ).all()
    claimed = []
    for run_id, status, claimed_at in candidates:
        now = utcnow()
        result = session.execute(
            update(TriggerRun)
            .where(
                TriggerRun.id == run_id,
                TriggerRun.status == status,
                TriggerRun.claimed_at.is_(None)
                if claimed_at is None
                else TriggerRun.claimed_at == claimed_at,
            )
            .values(status="evaluating", claimed_at=now)
        )
        session.commit()
        if rowcount(result) == 1:
            claimed.append(RunClaim(run_id, now))
    return claimed


def decide(session: Session, *, claim: RunClaim, settings: Settings, store: ArtifactStore) -> bool:
    """Gate the run's candidate and write the outcome (the run's status, the alias move, the
    follow-up run) in one transaction, only while the claim is still ours. False: it was not,
    and nothing was written."""
    run = session.get(TriggerRun, claim.run_id)
    assert run is not None
    trigger = session.get(Trigger, run.trigger_id)
    job = session.get(Job, run.job_id)
    if trigger is None or job is None:
        _finish(run, "failed", "the trigger or its job was deleted")
        return _commit_if_held(session, claim)
    if job.status != JobStatus.succeeded or job.model_id is None:
        error = f": {job.error_message}" if job.error_message else ""
        _reject(session, trigger, run, f"job {job.id} ended {job.status.value}{error}")
    else:
        _gate(session, trigger, run, job.model_id, settings, store)
    if trigger.rerun_requested:
        trigger.rerun_requested = False
        start_run(session, trigger=trigger, settings=settings)
    return _commit_if_held(session, claim)


def fail(session: Session, *, claim: RunClaim, reason: str) -> bool:
    run = session.get(TriggerRun, claim.run_id)
    trigger = session.get(Trigger, run.trigger_id) if run else None
    if run is None or trigger is None:
        return False
    _reject(session, trigger, run, reason, status="failed")
    return _commit_if_held(session, claim)


def _commit_if_held(session: Session, claim: RunClaim) -> bool:
    """The conditional write that makes a decision happen once: it locks the run's row (on
    PostgreSQL; SQLite has one writer) and matches only while the claim is unchanged."""
    held = session.execute(
        update(TriggerRun)
        .where(
            TriggerRun.id == claim.run_id,
            TriggerRun.claimed_at == claim.claimed_at,
        )
        .values(claimed_at=claim.claimed_at)
        .execution_options(synchronize_session=False)
    )
    if rowcount(held) != 1:
        session.rollback()
        logger.warning("retrain %s was taken over by another decider; leaving it", claim.run_id)
        return False
    session.commit()
    return True


def _gate(
    session: Session,
    trigger: Trigger,
    run: TriggerRun,
    candidate_id: str,
    settings: Settings,
    store: ArtifactStore,
) -> None:
    run.candidate_model_id = candidate_id
    alias = aliases.get_by_name(session, team_id=trigger.team_id, name=trigger.alias)
    run.candidate_score = _score(session, trigger, candidate_id, settings, store)
    if alias is None:
        _promote(session, trigger, run, f"first model for alias {trigger.alias!r}")
        return
    run.current_model_id = alias.model_id
    run.current_score = _score(session, trigger, alias.model_id, settings, store)
    delta = run.candidate_score - run.current_score
    metric, needed = trigger.gate_metric, trigger.gate_min_delta
    comparison = (
        f"{metric} {run.candidate_score:.4f} vs {run.current_score:.4f} "
        f"(delta {delta:+.4f}, needed {needed:+.4f})"
    )
    if delta >= needed:
        _promote(session, trigger, run, comparison)
    else:
        _reject(session, trigger, run, comparison)


def _score(
    session: Session, trigger: Trigger, model_id: str, settings: Settings, store: ArtifactStore
) -> float:
    model = session.get(Model, model_id)
    assert model is not None
    examples = datasets.get_examples(session, dataset_id=trigger.eval_dataset_id)
    evaluation = evaluations.build(
        settings, store, model, examples, dataset_id=trigger.eval_dataset_id, kind="dataset"
    )
    session.add(evaluation)
    return float(evaluation.report[trigger.gate_metric])


def _promote(session: Session, trigger: Trigger, run: TriggerRun, reason: str) -> None:
    assert run.candidate_model_id is not None
    _finish(run, "promoted", reason)
    emit(session, team_id=trigger.team_id, type_="retrain.promoted", data=_event_data(trigger, run))
    candidate = session.get(Model, run.candidate_model_id)
    assert candidate is not None
    aliases.put(
        session,
        team_id=trigger.team_id,
        name=trigger.alias,
        model=candidate,
        actor=f"trigger:{trigger.id}",
        reason=f"retrain {run.id}: {reason}",
    )


def _reject(
    session: Session, trigger: Trigger, run: TriggerRun, reason: str, *, status: str | None = None
) -> None:
    """Announce the run as rejected; `failed` when no candidate could be judged."""
    _finish(run, status or ("failed" if run.candidate_model_id is None else "rejected"), reason)
    emit(session, team_id=trigger.team_id, type_="retrain.rejected", data=_event_data(trigger, run))


def _finish(run: TriggerRun, status: str, reason: str) -> None:
    run.status = status
    run.reason = reason
    run.finished_at = utcnow()


def _event_data(trigger: Trigger, run: TriggerRun) -> dict[str, object]:
    return {
        "trigger_id": trigger.id,
        "run_id": run.id,
        "job_id": run.job_id,
        "alias": trigger.alias,
        "status": run.status,
        "candidate_model_id": run.candidate_model_id,
        "current_model_id": run.current_model_id,
        "metric": trigger.gate_metric,
        "candidate_score": run.candidate_score,
        "current_score": run.current_score,
    }
