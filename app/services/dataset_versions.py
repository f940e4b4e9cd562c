"""A dataset's next version: its examples plus new ones, validated together like an upload.

A version stores only its new rows and reads the rest from the dataset it was made from, so a
trigger call costs its own examples, not a copy of everything before it. Every
MAX_CHAIN_DEPTH versions one is stored whole, so that reading a version never walks a long
chain."""

from sqlalchemy.orm import Session

from app.models import Dataset
from app.schemas.dataset import ExampleIn
from app.services import datasets
from app.services.dataset_files import RawRow
from app.services.dataset_validation import DatasetLimits
from app.services.uploads import example_rows

MAX_CHAIN_DEPTH = 32


def create(
    session: Session, *, parent: Dataset, examples: list[ExampleIn], limits: DatasetLimits
) -> Dataset:
    """Errors name `examples[i]` for a new example and `<parent id> row i` for an old one."""
    new = example_rows(examples)

    def rows() -> list[RawRow]:
        old = [
            RawRow(
                f"{parent.id} row {position}",
                ex.text,
                list(ex.labels) if parent.multi_label else ex.label,
                multi_label=parent.multi_label,
            )
            for position, ex in enumerate(datasets.get_examples(session, dataset_id=parent.id))
        ]
        return old + new

    stored_whole = parent.chain_depth >= MAX_CHAIN_DEPTH
    version = datasets.create(
        session,
        team_id=parent.team_id,
        name=parent.name,
        source_format="json",
        rows=rows,
        limits=limits,
        extends=None if stored_whole else parent,
    )
    if stored_whole:
        version.parent_id = parent.id
    return version
