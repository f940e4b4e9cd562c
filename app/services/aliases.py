"""Team-scoped names for models, with a history of every move and a one-step rollback.
These functions flush; the caller commits, so that a move commits with the change it is part of."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.ids import new_id
from app.core.problems import Conflict
from app.models import Alias, AliasMove, Model
from app.services import webhook_events
from app.services.queries import Page, paginate

RESERVED_PREFIX = "mdl_"


def get_by_name(session: Session, *, team_id: str, name: str) -> Alias | None:
    return session.scalars(
        select(Alias).where(Alias.team_id == team_id, Alias.name == name)
    ).first()


def get_all(session: Session, *, team_id: str, limit: int, after: str | None) -> Page[Alias]:
    statement = select(Alias).where(Alias.team_id == team_id)
    return paginate(session, statement, Alias.id, limit=limit, after=after)


def get_history(session: Session, *, alias_id: str) -> list[AliasMove]:
    statement = select(AliasMove).where(AliasMove.alias_id == alias_id)
    return list(session.scalars(statement.order_by(AliasMove.id.desc())))


def put(
    session: Session,
    *,
    team_id: str,
    name: str,
    model: Model,
    actor: str,
    reason: str | None,
) -> tuple[Alias, bool]:
    """Point `name` at `model`; True when the alias is new. Pointing it where it already
    points changes nothing and records nothing."""
    alias = get_by_name(session, team_id=team_id, name=name)
    created = alias is None
    if alias is None:
        alias = Alias(id=new_id("als"), team_id=team_id, name=name, model_id=model.id)
        session.add(alias)
        session.flush()
        _record(session, alias, None, model.id, actor, reason)
    elif alias.model_id != model.id:
        _record(session, alias, alias.model_id, model.id, actor, reason)
        alias.model_id = model.id
    session.flush()
    return alias, created


def rollback(session: Session, *, alias: Alias, actor: str, reason: str | None) -> Alias:
    """Move the alias back to where it pointed before its latest move not yet rolled back."""
    moves = get_history(session, alias_id=alias.id)
    undoable = next((move for move in moves if not move.is_rollback and not move.rolled_back), None)
    if undoable is None or undoable.from_model_id is None:
        raise Conflict(f"alias {alias.name!r} has no earlier model to roll back to")
    if session.get(Model, undoable.from_model_id) is None:
        raise Conflict(
            f"alias {alias.name!r} pointed at model {undoable.from_model_id} before, "
            "which has been deleted"
        )
    undoable.rolled_back = True
    _record(
        session,
        alias,
        alias.model_id,
        undoable.from_model_id,
        actor,
        reason or f"rollback of the move to {undoable.to_model_id}",
        is_rollback=True,
    )
    alias.model_id = undoable.from_model_id
    session.flush()
    return alias


def delete(session: Session, *, alias: Alias) -> None:
    session.delete(alias)
    session.flush()


def _record(
    session: Session,
    alias: Alias,
    from_model_id: str | None,
    to_model_id: str,
    actor: str,
    reason: str | None,
    *,
    is_rollback: bool = False,
) -> None:
    session.add(
        AliasMove(
            alias_id=alias.id,
            from_model_id=from_model_id,
            to_model_id=to_model_id,
            actor=actor,
            reason=reason,
            is_rollback=is_rollback,
        )
    )
    webhook_events.emit(
        session,
        team_id=alias.team_id,
        type_="alias.updated",
        data={
            "alias": alias.name,
            "model_id": to_model_id,
            "previous_model_id": from_model_id,
            "rollback": is_rollback,
        },
    )
