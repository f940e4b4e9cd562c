from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.ids import is_well_formed, new_id
from app.core.security import display_prefix, generate_api_key, hash_api_key
from app.models import ApiKey, Team
from app.models.base import utcnow
from app.services.queries import Page, get_owned, paginate

SCOPES = ("read", "write", "admin")


def create(session: Session, *, name: str) -> Team:
    team = Team(id=new_id("team"), name=name)
    session.add(team)
    session.flush()
    return team


def get(session: Session, *, team_id: str) -> Team | None:
    return session.get(Team, team_id) if is_well_formed(team_id) else None


def get_by_name(session: Session, *, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name))


def get_all(session: Session, *, limit: int, after: str | None) -> Page[Team]:
    return paginate(session, select(Team), Team.id, limit=limit, after=after)


def create_key(
    session: Session,
    *,
    team_id: str,
    name: str,
    scopes: Sequence[str],
    secret: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the team; the plain secret is returned once and only its hash is stored."""
    secret = secret or generate_api_key()
    key = ApiKey(
        id=new_id("key"),
        team_id=team_id,
        name=name,
        prefix=display_prefix(secret),
        hashed_key=hash_api_key(secret),
        scopes=sorted(set(scopes), key=SCOPES.index),
    )
    session.add(key)
    session.flush()
    return key, secret


def get_keys(session: Session, *, team_id: str, limit: int, after: str | None) -> Page[ApiKey]:
    statement = select(ApiKey).where(ApiKey.team_id == team_id)
    return paginate(session, statement, ApiKey.id, limit=limit, after=after)


def get_key(session: Session, *, team_id: str, key_id: str) -> ApiKey | None:
    return get_owned(session, ApiKey, team_id=team_id, id_=key_id)


def revoke_key(session: Session, *, key: ApiKey) -> None:
    key.revoked_at = key.revoked_at or utcnow()


def is_active(session: Session, *, key_id: str) -> bool:
    """The key still exists and is not revoked."""
    revoked_at = session.execute(select(ApiKey.revoked_at).where(ApiKey.id == key_id)).one_or_none()
    return revoked_at is not None and revoked_at[0] is None


def authenticate(session: Session, *, secret: str) -> ApiKey | None:
    key = session.scalar(select(ApiKey).where(ApiKey.hashed_key == hash_api_key(secret)))
    if key is None or key.revoked_at is not None:
        return None
    return key
