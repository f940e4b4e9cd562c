"""Idempotency-Key: a repeated POST gets the first answer instead of doing the work twice.

A key is reserved before the work starts. The work's own commit marks the reservation
committed in the same transaction; from then on the key is never freed, whatever happens to
the request afterwards. A reservation whose request crashed before committing anything
expires after `reservation_seconds` and the next request with the key takes it over."""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.problems import Conflict, ValidationFailed
from app.models import IdempotencyRecord
from app.models.base import utcnow
from app.services.queries import rowcount


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def fingerprint(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def begin(
    session: Session,
    *,
    team_id: str,
    key: str,
    scope: str,
    request_fingerprint: str,
    reservation_seconds: float,
) -> Replay | None:
    """Reserve the key for this request, or answer with what its first use answered."""
    try:
        session.add(
            IdempotencyRecord(
                team_id=team_id, key=key, scope=scope, fingerprint=request_fingerprint
            )
        )
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
    first = session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.team_id == team_id, IdempotencyRecord.key == key
        )
    ).one()
    if first.scope != scope or first.fingerprint != request_fingerprint:
        message = f"Idempotency-Key {key!r} was used for a different request; use a new key"
        raise ValidationFailed(
            message, errors=[{"location": "header Idempotency-Key", "message": message}]
        )
    if first.status_code is not None and first.response is not None:
        return Replay(first.status_code, first.response)
    expired = first.updated_at < utcnow() - timedelta(seconds=reservation_seconds)
    if first.committed_at is not None and expired:
        raise Conflict(
            f"the request with Idempotency-Key {key!r} was carried out, but its answer was "
            "lost; look the result up with a GET instead of repeating it"
        )
    if expired and _take_over(session, first):
        return None
    raise Conflict(f"a request with Idempotency-Key {key!r} is still in progress; retry later")


def mark_committed(session: Session, *, team_id: str, key: str) -> None:
    """Called as the work's transaction commits, inside it."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.team_id == team_id, IdempotencyRecord.key == key)
        .values(committed_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def complete(
    session: Session, *, team_id: str, key: str, status_code: int, body: dict[str, Any]
) -> None:
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.team_id == team_id, IdempotencyRecord.key == key)
        .values(status_code=status_code, response=body)
    )
    session.commit()


def abandon(session: Session, *, team_id: str, key: str) -> None:
    """The request failed before its work committed: free the key so that the client may
    retry with it. A key whose work committed stays taken."""
    session.rollback()
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.team_id == team_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.committed_at.is_(None),
        )
    )
    session.commit()


def _take_over(session: Session, record: IdempotencyRecord) -> bool:
    taken = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record.id,
            IdempotencyRecord.updated_at == record.updated_at,
            IdempotencyRecord.committed_at.is_(None),
            IdempotencyRecord.status_code.is_(None),
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return rowcount(taken) == 1
