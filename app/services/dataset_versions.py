"""A dataset's next version: its examples plus new ones, validated together like an upload."""

from sqlalchemy.orm import Session

from app.models import Dataset
from app.schemas.dataset import ExampleIn
from app.services import datasets
from app.services.dataset_files import RawRow
from app.services.dataset_validation import DatasetLimits, validate_rows


def create(
    session: Session, *, parent: Dataset, examples: list[ExampleIn], limits: DatasetLimits
) -> Dataset:
    """Errors name `examples[i]` for a new example and `<parent id> row i` for an old one."""
    old = [
        RawRow(
            f"{parent.id} row {position}",
            ex.text,
            list(ex.labels) if parent.multi_label else ex.label,
            multi_label=parent.multi_label,
        )
        for position, ex in enumerate(datasets.get_examples(session, dataset_id=parent.id))
    ]
    new = [
        RawRow(
            f"examples[{index}]",
            example.text,
            example.labels if example.labels is not None else example.label,
            multi_label=example.labels is not None,
        )
        for index, example in enumerate(examples)
    ]
    data = validate_rows(old + new, limits)
    version = datasets.create(
        session,
        team_id=parent.team_id,
        name=parent.name,
        source_format="json",
        data=data,
    )
    version.parent_id = parent.id
    return version
