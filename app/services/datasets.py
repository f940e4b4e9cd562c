from sqlalchemy import delete as sql_delete
from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from app.ml.data import LabeledExample
from app.models import Dataset, DatasetExample, Job, JobStatus, Trigger
from app.services.dataset_validation import ValidatedDataset
from app.services.queries import Page, get_owned, paginate

INSERT_CHUNK = 5_000


def create(
    session: Session, *, team_id: str, name: str, source_format: str, data: ValidatedDataset
) -> Dataset:
    dataset = Dataset(
        id=new_id("ds"),
        team_id=team_id,
        name=name,
        source_format=source_format,
        num_examples=len(data.examples),
        label_counts=data.label_counts,
        multi_label=data.multi_label,
        warnings=data.warnings,
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
        .where(DatasetExample.dataset_id == dataset_id)
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


def delete(session: Session, *, dataset: Dataset) -> None:
    session.execute(sql_delete(DatasetExample).where(DatasetExample.dataset_id == dataset.id))
    session.delete(dataset)
