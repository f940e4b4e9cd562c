from sqlalchemy import Subquery, exists, insert, literal, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from app.core.ids import new_id
from app.ml.data import LabeledExample
from app.models import Dataset, DatasetExample, Job, JobStatus, Trigger
from app.services.dataset_validation import ValidatedDataset
from app.services.queries import Page, get_owned, paginate

INSERT_CHUNK = 5_000


def create(
    session: Session,
    *,
    team_id: str,
    name: str,
    source_format: str,
    data: ValidatedDataset,
    extends: Dataset | None = None,
) -> Dataset:
    """A dataset of `data.examples`. One that `extends` another (a version: the other's
    examples, then new ones) stores only its new rows and reads the rest from the other."""
    shared = extends.num_examples if extends is not None else 0
    dataset = Dataset(
        id=new_id("ds"),
        team_id=team_id,
        name=name,
        source_format=source_format,
        num_examples=len(data.examples),
        label_counts=data.label_counts,
        multi_label=data.multi_label,
        warnings=data.warnings,
        parent_id=extends.id if extends is not None else None,
        shared_rows=shared,
        chain_depth=extends.chain_depth + 1 if extends is not None else 0,
    )
    session.add(dataset)
    session.flush()
    rows = [
        {
            "dataset_id": dataset.id,
            "position": position,
            "text": ex.text,
            "label": ex.label,
            "labels": list(ex.labels) if data.multi_label else None,
        }
        for position, ex in enumerate(data.examples)
        if position >= shared
    ]
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(DatasetExample), rows[start : start + INSERT_CHUNK])
    return dataset


def get(session: Session, *, team_id: str, dataset_id: str) -> Dataset | None:
    return get_owned(session, Dataset, team_id=team_id, id_=dataset_id)


def get_all(session: Session, *, team_id: str, limit: int, after: str | None) -> Page[Dataset]:
    statement = select(Dataset).where(Dataset.team_id == team_id)
    return paginate(session, statement, Dataset.id, limit=limit, after=after)


def get_examples(session: Session, *, dataset_id: str) -> list[LabeledExample]:
    rows = session.execute(
        select(DatasetExample.text, DatasetExample.label, DatasetExample.labels)
        .where(DatasetExample.dataset_id.in_(row_sources(session, dataset_id)))
        .order_by(DatasetExample.position)
    )
    return [
        LabeledExample.of(text, label if labels is None else labels) for text, label, labels in rows
    ]


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
