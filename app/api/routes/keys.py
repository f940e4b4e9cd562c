"""A team's own API keys, managed with one of its `admin`-scoped keys (the operator's admin
token manages every team's under /v1/teams)."""

from fastapi import APIRouter, Response

from app.api.deps import AdminKey, AfterQuery, LimitQuery, SessionDep, SettingsDep
from app.api.routes.teams import key_public
from app.core.problems import Conflict, NotFound
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.team import ApiKeyCreate, ApiKeyCreated, ApiKeysPublic
from app.services import quotas, teams
from app.services.quotas import Quota

router = APIRouter(prefix="/keys", tags=["teams"], responses=PROBLEM_RESPONSES)


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_own_key(
    body: ApiKeyCreate, session: SessionDep, settings: SettingsDep, key: AdminKey
) -> ApiKeyCreated:
    """A new key for this key's team; its secret is in this answer only."""
    quotas.check_room(session, settings=settings, team_id=key.team_id, quota=Quota.api_keys)
    created, secret = teams.create_key(
        session, team_id=key.team_id, name=body.name, scopes=body.scopes
    )
    session.commit()
    return ApiKeyCreated(**key_public(created).model_dump(), key=secret)


@router.get("", response_model=ApiKeysPublic)
def list_own_keys(
    session: SessionDep, key: AdminKey, limit: LimitQuery = 20, after: AfterQuery = None
) -> ApiKeysPublic:
    page = teams.get_keys(session, team_id=key.team_id, limit=limit, after=after)
    return ApiKeysPublic(data=[key_public(k) for k in page.items], has_more=page.has_more)


@router.delete("/{key_id}", status_code=204)
def revoke_own_key(key_id: str, session: SessionDep, key: AdminKey) -> Response:
    """Revoke one of the team's keys at once (a cached predict lookup sees it within
    ADAPTD_PREDICT_LOOKUP_TTL_SECONDS). A key cannot revoke itself: that would lock the team
    out of its own administration by a slip."""
    target = teams.get_key(session, team_id=key.team_id, key_id=key_id)
    if target is None:
        raise NotFound(f"API key {key_id} not found")
    if target.id == key.id:
        raise Conflict("a key cannot revoke itself; revoke it with another admin key")
    teams.revoke_key(session, key=target)
    session.commit()
    return Response(status_code=204)
