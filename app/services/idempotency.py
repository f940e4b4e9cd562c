"""Idempotency-Key: a repeated POST gets the first answer instead of doing the work twice."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.problems import Conflict, ValidationFailed
from app.models import IdempotencyRecord


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


def fingerprint(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def begin(
    session: Session, *, team_id: str, key: str, scope: str, request_fingerprint: str
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
    if first.status_code is None or first.response is None:
        raise Conflict(f"a request with Idempotency-Key {key!r} is still in progress; retry later")
    return Replay(first.status_code, first.response)


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
    """The request failed: free the key so that the client may retry with it."""
    session.rollback()
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.team_id == team_id, IdempotencyRecord.key == key
        )
    )
    session.commit()
