"""Retention: one rule per table that grows, one sweep that applies them all, and a sweep of
the artifact store for what no row references.

A rule names the rows it may remove (by id, older than a cutoff); the sweep deletes them in
batches, one transaction a batch, and adds what it removed to the rule's tally for /metrics."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.core.config import Settings
from app.core.storage import Area, ArtifactStore
from app.models import (
    TERMINAL_STATUSES,
    AuditEntry,
    Dataset,
    Evaluation,
    IdempotencyRecord,
    Job,
    JobEvent,
    Model,
    SweepTally,
    Trigger,
    TriggerFire,
    TriggerRun,
    WebhookDelivery,
    WebhookEvent,
)
from app.models.base import utcnow
from app.services import datasets
from app.services.queries import rowcount

BATCH = 1000


@dataclass(frozen=True)
class Rule:
    name: str
    id_column: InstrumentedAttribute[Any]
    removable: Callable[[datetime], Select[Any]]
    keep: timedelta
    before_removing: Callable[[Session, list[str]], None] | None = None


def rules(settings: Settings) -> list[Rule]:
    webhooks = timedelta(days=settings.retention_webhook_days)
    return [
        Rule(
            "idempotency_record",
            IdempotencyRecord.id,
            lambda cutoff: select(IdempotencyRecord.id).where(
                IdempotencyRecord.created_at < cutoff
            ),
            timedelta(hours=settings.retention_idempotency_hours),
        ),
        Rule(
            "webhook_delivery",
            WebhookDelivery.id,
            lambda cutoff: select(WebhookDelivery.id).where(
                WebhookDelivery.status.in_(("delivered", "failed")),
                WebhookDelivery.created_at < cutoff,
            ),
            webhooks,
        ),
        Rule(
            "webhook_event",
            WebhookEvent.id,
            lambda cutoff: select(WebhookEvent.id).where(
                WebhookEvent.created_at < cutoff,
                ~exists().where(WebhookDelivery.event_id == WebhookEvent.id),
            ),
            webhooks,
        ),
        Rule(
            "trigger_fire",
            TriggerFire.id,
            lambda cutoff: select(TriggerFire.id).where(TriggerFire.created_at < cutoff),
            timedelta(days=settings.retention_trigger_fire_days),
        ),
        Rule(
            "job_event",
            JobEvent.id,
            lambda cutoff: (
                select(JobEvent.id)
                .join(Job, Job.id == JobEvent.job_id)
                .where(Job.status.in_(TERMINAL_STATUSES), Job.finished_at < cutoff)
            ),
            timedelta(days=settings.retention_job_event_days),
        ),
        Rule(
            "audit_entry",
            AuditEntry.id,
            lambda cutoff: select(AuditEntry.id).where(AuditEntry.created_at < cutoff),
            timedelta(days=settings.retention_audit_days),
        ),
        Rule(
            "dataset_version",
            Dataset.id,
            _unused_dataset_versions,
            timedelta(days=settings.retention_dataset_version_days),
            datasets.detach_versions,
        ),
    ]


def _unused_dataset_versions(cutoff: datetime) -> Select[Any]:
    """Versions made by trigger calls that nothing uses: no job trained or validated on them,
    no trigger, retrain or evaluation names them."""
    return select(Dataset.id).where(
        Dataset.parent_id.is_not(None),
        Dataset.created_at < cutoff,
        ~exists().where(or_(Job.dataset_id == Dataset.id, Job.validation_dataset_id == Dataset.id)),
        ~exists().where(
            or_(Trigger.dataset_id == Dataset.id, Trigger.eval_dataset_id == Dataset.id)
        ),
        ~exists().where(TriggerRun.dataset_id == Dataset.id),
        ~exists().where(Evaluation.dataset_id == Dataset.id),
    )


def sweep(session: Session, applied: list[Rule]) -> dict[str, int]:
    """Apply every rule; what each removed, by rule name."""
    removed = {}
    for rule in applied:
        removed[rule.name] = _apply(session, rule, utcnow() - rule.keep)
        _tally(session, rule.name, removed[rule.name])
        session.commit()
    return removed


def tallies(session: Session) -> dict[str, int]:
    return {row.rule: row.removed for row in session.scalars(select(SweepTally))}


def _apply(session: Session, rule: Rule, cutoff: datetime) -> int:
    total = 0
    while True:
        ids = list(session.scalars(rule.removable(cutoff).limit(BATCH)))
        if not ids:
            return total
        if rule.before_removing is not None:
            rule.before_removing(session, ids)
        session.execute(delete(rule.id_column.class_).where(rule.id_column.in_(ids)))
        session.commit()
        total += len(ids)


def _tally(session: Session, rule: str, removed: int) -> None:
    for _ in range(2):
        counted = session.execute(
            update(SweepTally)
            .where(SweepTally.rule == rule)
            .values(removed=SweepTally.removed + removed, last_swept_at=utcnow())
        )
        if rowcount(counted) == 1:
            return
        try:
            session.add(SweepTally(rule=rule, removed=removed, last_swept_at=utcnow()))
            session.flush()
            return
        except IntegrityError:  # another sweeper wrote the first tally meanwhile
            session.rollback()


def sweep_store(session: Session, store: ArtifactStore, *, grace: timedelta) -> dict[str, int]:
    """Remove what no row references from the artifact store, once older than `grace`:
    model folders without a model, staging folders a crashed writer left, checkpoints of
    ended or deleted jobs, and cached embeddings of deleted datasets."""
    cutoff = (utcnow() - grace).timestamp()
    keep = {
        Area.model: set(session.scalars(select(Model.artifact_key))),
        Area.staging: set(),
        Area.checkpoint: set(
            session.scalars(select(Job.id).where(Job.status.not_in(TERMINAL_STATUSES)))
        ),
        Area.embeddings: set(session.scalars(select(Dataset.id))),
    }
    session.rollback()
    removed = dict.fromkeys((f"artifact_{area}" for area in Area), 0)
    for entry in list(store.entries()):
        if entry.modified >= cutoff or _referenced(entry.name, keep[entry.area]):
            continue
        store.remove(entry)
        removed[f"artifact_{entry.area}"] += 1
    for rule, count in removed.items():
        _tally(session, rule, count)
    session.commit()
    return removed


def _referenced(name: str, keep: set[str]) -> bool:
    return name in keep or name.removesuffix(".safetensors") in keep
