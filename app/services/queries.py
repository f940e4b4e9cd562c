from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, func
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.core.ids import is_well_formed

T = TypeVar("T")


class TeamOwned(Protocol):
    team_id: str


Owned = TypeVar("Owned", bound=TeamOwned)


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


def get_owned(session: Session, model: type[Owned], *, team_id: str, id_: str) -> Owned | None:
    """The row with this id if the team owns it; other teams' rows are as good as missing."""
    if not is_well_formed(id_):
        return None
    row = session.get(model, id_)
    return row if row is not None and row.team_id == team_id else None


def database_seconds_ago(session: Session, seconds: float) -> ColumnElement[Any]:
    """A moment by the database's clock, the one heartbeats and publications are stamped with."""
    if session.get_bind().dialect.name == "sqlite":
        return func.datetime("now", f"-{seconds:.3f} seconds")
    return func.now() - timedelta(seconds=seconds)


def rowcount(result: Any) -> int:
    """Rows an UPDATE or DELETE touched (0 or 1 for the conditional writes of job state)."""
    return int(result.rowcount)
