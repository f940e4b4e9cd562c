import os
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Team
from app.services import teams

DEFAULT_TEAM = "default"


def create_first_team(session: Session, *, secret: str | None) -> str | None:
    """On an installation without teams, make one with an all-scopes key and return its secret."""
    if session.scalar(select(exists().select_from(Team))):
        return None
    try:
        team = teams.create(session, name=DEFAULT_TEAM)
        _, secret = teams.create_key(
            session,
            team_id=team.id,
            name="bootstrap",
            scopes=["read", "write", "admin"],
            secret=secret,
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return secret


def write_secret_file(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret + "\n")
    path.chmod(0o600)
