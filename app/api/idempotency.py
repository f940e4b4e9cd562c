import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core.config import Settings
from app.core.sealing import Keyring
from app.services import idempotency

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat a POST safely: a repeat with the same body gets the first answer.",
    ),
]
Result = TypeVar("Result", bound=BaseModel)


def run_once(
    session: Session,
    *,
    key: str | None,
    team_id: str,
    scope: str,
    request_fingerprint: str,
    status_code: int,
    work: Callable[[], Result],
    settings: Settings,
    sealed_with: Keyring | None = None,
) -> Result | JSONResponse:
    """Do `work` once per Idempotency-Key; repeats are answered with the stored first answer.
    An answer that carries a secret is stored sealed with `sealed_with`."""
    if key is None:
        return work()
    replay = idempotency.begin(
        session,
        team_id=team_id,
        key=key,
        scope=scope,
        request_fingerprint=request_fingerprint,
        reservation_seconds=settings.idempotency_reservation_seconds,
    )
    if replay is not None:
        body = replay.body if sealed_with is None else _opened(replay.body, sealed_with)
        return JSONResponse(body, replay.status_code, headers={"Idempotent-Replayed": "true"})
    try:
        with _committed_with_the_work(session, team_id=team_id, key=key):
            result = work()
    except BaseException:
        idempotency.abandon(session, team_id=team_id, key=key)
        raise
    idempotency.complete(
        session,
        team_id=team_id,
        key=key,
        status_code=status_code,
        body=_stored(result.model_dump(mode="json"), sealed_with),
    )
    return result


def _stored(body: dict[str, Any], keyring: Keyring | None) -> dict[str, Any]:
    return body if keyring is None else {"sealed": keyring.seal(json.dumps(body))}


def _opened(body: dict[str, Any], keyring: Keyring) -> dict[str, Any]:
    opened: dict[str, Any] = json.loads(keyring.open(body["sealed"]))
    return opened


@contextmanager
def _committed_with_the_work(session: Session, *, team_id: str, key: str) -> Iterator[None]:
    """While the work runs, its first commit also marks the key committed."""
    marked = False

    def mark(committing: Session) -> None:
        nonlocal marked
        if not marked:
            marked = True
            idempotency.mark_committed(committing, team_id=team_id, key=key)

    event.listen(session, "before_commit", mark)
    try:
        yield
    finally:
        event.remove(session, "before_commit", mark)
