from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.api.deps import AfterQuery, LimitQuery, ReadKey, SessionDep, SettingsDep, WriteKey
from app.api.idempotency import IdempotencyKey, run_once
from app.core.problems import NotFound, ValidationFailed
from app.models import Alias, ApiKey
from app.schemas.alias import (
    ALIAS_NAME_PATTERN,
    AliasesPublic,
    AliasMovePublic,
    AliasPublic,
    AliasPut,
    AliasRollback,
)
from app.schemas.common import PROBLEM_RESPONSES
from app.services import aliases, models
from app.services.aliases import RESERVED_PREFIX
from app.services.idempotency import fingerprint

router = APIRouter(prefix="/aliases", tags=["aliases"], responses=PROBLEM_RESPONSES)

AliasName = Annotated[
    str,
    Path(
        pattern=ALIAS_NAME_PATTERN,
        description="Letters, digits, `.`, `_` and `-`; up to 100 characters.",
    ),
]


def get_alias(name: AliasName, session: SessionDep, key: ReadKey) -> Alias:
    alias = aliases.get_by_name(session, team_id=key.team_id, name=name)
    if alias is None:
        raise NotFound(f"alias {name!r} not found")
    return alias


AliasDep = Annotated[Alias, Depends(get_alias)]


def to_public(session: SessionDep, alias: Alias) -> AliasPublic:
    history = aliases.get_history(session, alias_id=alias.id)
    return AliasPublic(
        name=alias.name,
        model_id=alias.model_id,
        created_at=alias.created_at,
        updated_at=alias.updated_at,
        history=[
            AliasMovePublic(
                from_model_id=move.from_model_id,
                to_model_id=move.to_model_id,
                actor=move.actor,
                reason=move.reason,
                is_rollback=move.is_rollback,
                rolled_back=move.rolled_back,
                created_at=move.created_at,
            )
            for move in history
        ],
    )


@router.put(
    "/{name}",
    response_model=AliasPublic,
    responses={201: {"model": AliasPublic, "description": "The alias was created."}},
)
def put_alias(
    name: AliasName, body: AliasPut, session: SessionDep, key: WriteKey, response: Response
) -> AliasPublic:
    """Create the alias, or move it to another of the team's models (200)."""
    if name.startswith(RESERVED_PREFIX):
        message = f"alias names may not start with {RESERVED_PREFIX!r}, which model ids use"
        raise ValidationFailed(message, errors=[{"location": "name", "message": message}])
    model = models.get(session, team_id=key.team_id, model_id=body.model_id)
    if model is None:
        message = f"model {body.model_id} not found"
        raise ValidationFailed(message, errors=[{"location": "model_id", "message": message}])
    alias, created = aliases.put(
        session,
        team_id=key.team_id,
        name=name,
        model=model,
        actor=_actor(key),
        reason=body.reason,
    )
    session.commit()
    response.status_code = 201 if created else 200
    return to_public(session, alias)


@router.get("", response_model=AliasesPublic)
def list_aliases(
    session: SessionDep, key: ReadKey, limit: LimitQuery = 20, after: AfterQuery = None
) -> AliasesPublic:
    page = aliases.get_all(session, team_id=key.team_id, limit=limit, after=after)
    return AliasesPublic(data=[to_public(session, a) for a in page.items], has_more=page.has_more)


@router.get("/{name}", response_model=AliasPublic)
def get_alias_route(alias: AliasDep, session: SessionDep) -> AliasPublic:
    return to_public(session, alias)


@router.delete("/{name}", status_code=204)
def delete_alias(alias: AliasDep, session: SessionDep, _key: WriteKey) -> Response:
    aliases.delete(session, alias=alias)
    session.commit()
    return Response(status_code=204)


@router.post("/{name}/rollback", response_model=AliasPublic)
def rollback_alias(
    alias: AliasDep,
    session: SessionDep,
    settings: SettingsDep,
    key: WriteKey,
    body: Annotated[AliasRollback | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> AliasPublic | JSONResponse:
    """Move the alias back one step: to the model before its latest move not yet undone. With
    an `Idempotency-Key`, a repeated call is answered with the first answer and moves nothing."""
    reason = body.reason if body else None
    return run_once(
        session,
        key=idempotency_key,
        team_id=key.team_id,
        scope="POST /v1/aliases/{name}/rollback",
        request_fingerprint=fingerprint(alias.name, reason),
        status_code=200,
        work=lambda: _rolled_back(session, alias, actor=_actor(key), reason=reason),
        settings=settings,
    )


def _rolled_back(session: Session, alias: Alias, *, actor: str, reason: str | None) -> AliasPublic:
    moved = aliases.rollback(session, alias=alias, actor=actor, reason=reason)
    session.commit()
    return to_public(session, moved)


def _actor(key: ApiKey) -> str:
    return f"key:{key.id}"
