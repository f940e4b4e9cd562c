from fastapi import APIRouter
from sqlalchemy.orm import Session

from app.api.deps import ReadKey, SessionDep, SettingsDep
from app.core.config import Settings
from app.models import Team
from app.schemas.common import PROBLEM_RESPONSES
from app.schemas.team import QuotaLimits, QuotasPublic
from app.services import quotas, teams

router = APIRouter(prefix="/quotas", tags=["teams"], responses=PROBLEM_RESPONSES)


def quotas_public(session: Session, settings: Settings, team: Team) -> QuotasPublic:
    limits = quotas.limits_of(settings, team.quotas)
    return QuotasPublic(
        team_id=team.id,
        limits=QuotaLimits(**{quota.value: value for quota, value in limits.items()}),
        overrides=dict(team.quotas),
        usage={q.value: n for q, n in quotas.usage(session, team_id=team.id).items()},
    )


@router.get("", response_model=QuotasPublic)
def get_own_quotas(session: SessionDep, settings: SettingsDep, key: ReadKey) -> QuotasPublic:
    """This key's team's limits and what it holds of them now."""
    team = teams.get(session, team_id=key.team_id)
    assert team is not None
    return quotas_public(session, settings, team)
