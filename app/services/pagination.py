from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


def paginate(
    session: Session,
    statement: Select[T],
    id_column: InstrumentedAttribute[Any],
    *,
    limit: int,
    after: str | None,
) -> Page[T]:
    """Newest first; ids sort by creation time, so `after` is the last id of the previous page."""
    if after is not None:
        statement = statement.where(id_column < after)
    rows = list(session.scalars(statement.order_by(id_column.desc()).limit(limit + 1)))
    return Page(rows[:limit], len(rows) > limit)
