"""Every write that takes effect (POST, PUT, PATCH or DELETE answered below 400) is written to
the audit log before the last byte of its answer is sent, so that an answer in the caller's
hands means the entry exists. The route names the action; the resource is the id in the
answer, or else the last id in the path. Predictions (passed through untouched, without
looking at their answers) and replayed answers to a repeated request, which change nothing,
are left out."""

import json
import logging
import re
from typing import Any

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.db import session_scope
from app.services import audit
from app.services.audit import Actor, Write

logger = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PREDICTION_PATH = re.compile(r"/v1/models/[^/]+/predict")
CREATES_TEAM = "create_team"
ACTOR_STATE = "audit_actor"
ANSWER_PREFIX_BYTES = 4096
REPLAYED = b"idempotent-replayed"
LEADING_ID = re.compile(rb'\s*\{\s*"id"\s*:\s*"([^"\\]{1,200})"')


def act_as(request: Request, actor: Actor) -> None:
    """Name who makes this request, for its audit entry."""
    request.state.audit_actor = actor


class AuditTrail:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or PREDICTION_PATH.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        status_code = 0
        replayed = False
        answer = bytearray()

        async def recording_send(message: Message) -> None:
            nonlocal status_code, replayed
            if message["type"] == "http.response.start":
                status_code = message["status"]
                replayed = any(name.lower() == REPLAYED for name, _ in message.get("headers", []))
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b"")[: ANSWER_PREFIX_BYTES - len(answer)])
                if not message.get("more_body", False) and not replayed:
                    await self._record(scope, status_code, bytes(answer))
            await send(message)

        await self.app(scope, receive, recording_send)

    async def _record(self, scope: Scope, status_code: int, answer: bytes) -> None:
        write = write_of(scope, status_code, answer)
        if write is None:
            return
        try:
            await anyio.to_thread.run_sync(self._store, write)
        except SQLAlchemyError:
            logger.exception("audit entry lost: %s %s by %s", write.method, write.path, write.actor)

    def _store(self, write: Write) -> None:
        with session_scope(self.settings) as session:
            audit.record(session, write)


def write_of(scope: Scope, status_code: int, answer: bytes) -> Write | None:
    """The audit entry for a finished request; None for anything that changed nothing."""
    route = scope.get("route")
    actor = scope["state"].get(ACTOR_STATE)
    name = getattr(route, "name", None)
    if status_code >= 400 or not isinstance(actor, Actor) or name is None:
        return None
    path_params: dict[str, Any] = scope.get("path_params", {})
    answered_id = _answered_id(answer)
    team_id = actor.team_id or path_params.get("team_id")
    if team_id is None and name == CREATES_TEAM:
        team_id = answered_id
    if team_id is None:
        return None
    return Write(
        actor=actor,
        team_id=str(team_id),
        action=name,
        method=scope["method"],
        path=scope["path"],
        resource=answered_id or _last_path_param(path_params),
        status_code=status_code,
    )


def _answered_id(answer: bytes) -> str | None:
    """The answer's `id`; of an answer longer than the prefix kept, the `id` it opens with."""
    try:
        document = json.loads(answer)
    except ValueError:
        opening = LEADING_ID.match(answer)
        return opening.group(1).decode() if opening else None
    identifier = document.get("id") if isinstance(document, dict) else None
    return identifier if isinstance(identifier, str) else None


def _last_path_param(path_params: dict[str, Any]) -> str | None:
    values = [str(value) for value in path_params.values()]
    return values[-1] if values else None
