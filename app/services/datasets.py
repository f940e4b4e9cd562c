from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    Cast,
    Subquery,
    Text,
    cast,
    distinct,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from app.core.ids import new_id
from app.ml.data import LabeledExample
from app.models import Dataset, DatasetExample, Job, JobStatus, Trigger
from app.services.dataset_files import RawRow, RowError
from app.services.dataset_validation import (
    DatasetLimits,
    ErrorLog,
    RowChecks,
    conflicting_labelings,
    rejection,
)
from app.services.queries import Page, get_owned, paginate

INSERT_CHUNK = 5_000

RowSource = Callable[[], Iterable[RawRow | RowError]]
"""Reads a dataset's rows from the start each time it is called."""


def create(
    session: Session,
    *,
    team_id: str,
    name: str,
    source_format: str,
    rows: RowSource,
    limits: DatasetLimits,
    extends: Dataset | None = None,
) -> Dataset:
    """A dataset of `rows`, checked as they stream into the session's transaction; on a
    `DatasetRejected` the caller rolls the transaction back. One that `extends` another (a
    version: the other's rows, then new ones) stores only its new rows and reads the rest
    from the other. The rows are read once more only where a text appears labeled two ways."""
    dataset = Dataset(
        id=new_id("ds"),
        team_id=team_id,
        name=name,
        source_format=source_format,
        num_examples=0,
        label_counts={},
        warnings=[],
        parent_id=extends.id if extends is not None else None,
        shared_rows=extends.num_examples if extends is not None else 0,
        chain_depth=extends.chain_depth + 1 if extends is not None else 0,
    )
    session.add(dataset)
    session.flush()
    checks = RowChecks(limits)
    _store_checked(session, dataset, rows(), checks)
    if checks.over_limits:
        raise rejection([checks.errors, checks.limit_errors()], limits.max_reported_errors)
    sources = row_sources(session, dataset.id)
    multi_label = bool(checks.multi_label)
    texts = _texts_labeled_two_ways(session, sources, multi_label)
    conflicts = (
        conflicting_labelings(rows(), texts, limits, multi_label)
        if texts
        else ErrorLog(limits.max_reported_errors)
    )
    logs = [checks.errors, conflicts, checks.class_errors()]
    if any(log.total for log in logs):
        raise rejection(logs, limits.max_reported_errors)
    summary = checks.summary(duplicates=checks.examples - _distinct_texts(session, sources))
    dataset.num_examples = summary.num_examples
    dataset.label_counts = summary.label_counts
    dataset.multi_label = summary.multi_label
    dataset.warnings = summary.warnings
    session.flush()
    return dataset


def _store_checked(
    session: Session, dataset: Dataset, rows: Iterable[RawRow | RowError], checks: RowChecks
) -> None:
    """Stores the rows that pass `checks`, after the `shared_rows` that `dataset` reads from
    its parent, a chunk at a time."""
    chunk: list[dict[str, Any]] = []
    position = 0
    for row in rows:
        example = checks.check(row)
        if example is None:
            continue
        if position >= dataset.shared_rows:
            chunk.append(
                {
                    "dataset_id": dataset.id,
                    "position": position,
                    "text": example.text,
                    "label": example.label,
                    "labels": list(example.labels) if checks.multi_label else None,
                }
            )
        position += 1
        if len(chunk) == INSERT_CHUNK:
            session.execute(insert(DatasetExample), chunk)
            chunk = []
    if chunk:
        session.execute(insert(DatasetExample), chunk)


def _labeling(multi_label: bool) -> Cast[str]:
    return cast(DatasetExample.labels if multi_label else DatasetExample.label, Text)


def _texts_labeled_two_ways(session: Session, sources: list[str], multi_label: bool) -> set[str]:
    """Texts stored with more than one labeling; for multi-label data, a superset (the same
    labels in another order look different here)."""
    statement = (
        select(DatasetExample.text)
        .where(DatasetExample.dataset_id.in_(sources))
        .group_by(DatasetExample.text)
        .having(func.count(distinct(_labeling(multi_label))) > 1)
    )
    return set(session.scalars(statement))


def _distinct_texts(session: Session, sources: list[str]) -> int:
    statement = select(func.count(distinct(DatasetExample.text))).where(
        DatasetExample.dataset_id.in_(sources)
    )
    return session.scalar(statement) or 0


def get(session: Session, *, team_id: str, dataset_id: str) -> Dataset | None:
    return get_owned(session, Dataset, team_id=team_id, id_=dataset_id)


def get_all(session: Session, *, team_id: str, limit: int, after: str | None) -> Page[Dataset]:
    statement = select(Dataset).where(Dataset.team_id == team_id)
    return paginate(session, statement, Dataset.id, limit=limit, after=after)


def get_examples(session: Session, *, dataset_id: str) -> list[LabeledExample]:
    """Every example in order, read a chunk at a time; examples with the same labels share
    one tuple of them (a million rows of one dataset need a few hundred)."""
    statement = (
        select(DatasetExample.text, DatasetExample.label, DatasetExample.labels)
        .where(DatasetExample.dataset_id.in_(row_sources(session, dataset_id)))
        .order_by(DatasetExample.position)
        .execution_options(yield_per=INSERT_CHUNK)
    )
    labelings: dict[tuple[str, ...], tuple[str, ...]] = {}
    examples = []
    for text, label, labels in session.execute(statement):
        labeling = (label,) if labels is None else tuple(labels)
        examples.append(LabeledExample(text, labelings.setdefault(labeling, labeling)))
    return examples


def is_in_use(session: Session, *, dataset_id: str) -> bool:
    active = (JobStatus.queued, JobStatus.running)
    uses = (Job.dataset_id == dataset_id) | (Job.validation_dataset_id == dataset_id)
    return bool(session.scalar(select(exists().where(uses, Job.status.in_(active)))))


def triggers_using(session: Session, *, dataset_id: str) -> list[str]:
    uses = (Trigger.dataset_id == dataset_id) | (Trigger.eval_dataset_id == dataset_id)
    return list(session.scalars(select(Trigger.name).where(uses).order_by(Trigger.name)))


def row_sources(session: Session, dataset_id: str) -> list[str]:
    """The dataset and every dataset it reads shared rows from; each holds its own range of
    positions, so together they hold each position once."""
    sources = [dataset_id]
    dataset = session.get(Dataset, dataset_id)
    while dataset is not None and dataset.shared_rows > 0 and dataset.parent_id is not None:
        sources.append(dataset.parent_id)
        dataset = session.get(Dataset, dataset.parent_id)
    return sources


def detach_versions(session: Session, dataset_ids: list[str]) -> None:
    """Before these datasets go: the versions made from each take over the rows they read
    from it and point at its parent instead. Oldest first, so that of a chain going at once
    the rows move down to the first version that stays."""
    for dataset_id in sorted(dataset_ids):
        going = session.get_one(Dataset, dataset_id)
        own = select(DatasetExample).where(
            DatasetExample.dataset_id == going.id, DatasetExample.position >= going.shared_rows
        )
        for version in session.scalars(select(Dataset).where(Dataset.parent_id == going.id)):
            if version.shared_rows > 0:
                _copy_rows(session, own.subquery(), to=version.id)
                version.shared_rows = going.shared_rows
            version.parent_id = going.parent_id
        session.flush()


def _copy_rows(session: Session, rows: Subquery, *, to: str) -> None:
    columns = ["dataset_id", "position", "text", "label", "labels"]
    session.execute(
        insert(DatasetExample).from_select(
            columns,
            select(literal(to), rows.c.position, rows.c.text, rows.c.label, rows.c.labels),
        )
    )


def delete(session: Session, *, dataset: Dataset) -> None:
    detach_versions(session, [dataset.id])
    session.execute(sql_delete(DatasetExample).where(DatasetExample.dataset_id == dataset.id))
    session.delete(dataset)
