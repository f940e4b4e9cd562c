from fastapi import APIRouter, Response
from sqlalchemy.exc import IntegrityError

from app.api.deps import AdminDep, AfterQuery, LimitQuery, SessionDep, SettingsDep
from app.api.routes.audit import AuditQueryDep, entries_page
from app.api.routes.quotas import quotas_public
from app.core.problems import Conflict, NotFound
from app.models import ApiKey, Team
from app.schemas.audit import AuditEntriesPublic
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.team import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    ApiKeysPublic,
    QuotaChanges,
    QuotasPublic,
    TeamCreate,
    TeamPublic,
    TeamsPublic,
)
from app.services import quotas, teams
from app.services.quotas import Quota

router = APIRouter(
    prefix="/teams", tags=["teams"], dependencies=[AdminDep], responses=PROBLEM_RESPONSES
)


def team_public(team: Team) -> TeamPublic:
    return TeamPublic(id=team.id, name=team.name, created_at=team.created_at)


def key_public(key: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(key, from_attributes=True)


def _team_or_404(session: SessionDep, team_id: str) -> Team:
    team = teams.get(session, team_id=team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


@router.post("", status_code=201, response_model=TeamPublic)
def create_team(body: TeamCreate, session: SessionDep) -> TeamPublic:
    """Create a team (admin token only). Then create its first API key."""
    try:
        team = teams.create(session, name=body.name)
        session.commit()
    except IntegrityError:
        raise Conflict(f"a team named {body.name!r} already exists") from None
    return team_public(team)


@router.get("", response_model=TeamsPublic)
def list_teams(
    session: SessionDep,
    limit: LimitQuery = 20,
    after: AfterQuery = None,
) -> TeamsPublic:
    page = teams.get_all(session, limit=limit, after=after)
    return TeamsPublic(data=[team_public(t) for t in page.items], has_more=page.has_more)


@router.get("/{team_id}/quotas", response_model=QuotasPublic)
def get_quotas(team_id: str, session: SessionDep, settings: SettingsDep) -> QuotasPublic:
    """The team's limits (its own where set, else the defaults) and what it holds now."""
    return quotas_public(session, settings, _team_or_404(session, team_id))


@router.patch("/{team_id}/quotas", response_model=QuotasPublic)
def change_quotas(
    team_id: str, body: QuotaChanges, session: SessionDep, settings: SettingsDep
) -> QuotasPublic:
    """Set limits for this team alone, or (null) return them to the defaults. Lowering a
    limit takes nothing away: it refuses what would go beyond it from now on."""
    team = _team_or_404(session, team_id)
    changes = body.model_dump(exclude_unset=True)
    quotas.set_overrides(team, {Quota(name): value for name, value in changes.items()})
    session.commit()
    return quotas_public(session, settings, team)


@router.post("/{team_id}/keys", status_code=201, response_model=ApiKeyCreated)
def create_key(
    team_id: str, body: ApiKeyCreate, session: SessionDep, settings: SettingsDep
) -> ApiKeyCreated:
    """Create an API key; its secret is in this answer only and is stored as a hash."""
    team = _team_or_404(session, team_id)
    quotas.check_room(session, settings=settings, team_id=team.id, quota=Quota.api_keys)
    key, secret = teams.create_key(session, team_id=team.id, name=body.name, scopes=body.scopes)
    session.commit()
    return ApiKeyCreated(**key_public(key).model_dump(), key=secret)


@router.get("/{team_id}/keys", response_model=ApiKeysPublic)
def list_keys(
    team_id: str,
    session: SessionDep,
    limit: LimitQuery = 20,
    after: AfterQuery = None,
) -> ApiKeysPublic:
    team = _team_or_404(session, team_id)
    page = teams.get_keys(session, team_id=team.id, limit=limit, after=after)
    return ApiKeysPublic(data=[key_public(k) for k in page.items], has_more=page.has_more)


@router.get("/{team_id}/audit", response_model=AuditEntriesPublic)
def list_team_audit_entries(
    team_id: str, session: SessionDep, query: AuditQueryDep
) -> AuditEntriesPublic:
    """The team's audit log, as its admin keys read it at /v1/audit."""
    team = _team_or_404(session, team_id)
    return entries_page(session, team_id=team.id, query=query)


@router.delete("/{team_id}/keys/{key_id}", status_code=204)
def revoke_key(team_id: str, key_id: str, session: SessionDep) -> Response:
    key = teams.get_key(session, team_id=team_id, key_id=key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found in team {team_id}")
    teams.revoke_key(session, key=key)
    session.commit()
    return Response(status_code=204)
