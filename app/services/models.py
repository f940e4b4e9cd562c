from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.problems import Conflict, ValidationFailed
from app.core.storage import ArtifactStore
from app.ml.runtime import GraphCache
from app.models import Alias, Model
from app.services.queries import Page, get_owned, paginate


def get(session: Session, *, team_id: str, model_id: str) -> Model | None:
    return get_owned(session, Model, team_id=team_id, id_=model_id)


def get_all(session: Session, *, team_id: str, limit: int, after: str | None) -> Page[Model]:
    statement = select(Model).where(Model.team_id == team_id)
    return paginate(session, statement, Model.id, limit=limit, after=after)


def delete(session: Session, *, model: Model, store: ArtifactStore) -> None:
    """Forget the model first, then its files: a failed commit never leaves a row without files.
    A model an alias points at stays until the alias moves or goes."""
    names = session.scalars(select(Alias.name).where(Alias.model_id == model.id)).all()
    if names:
        raise Conflict(
            f"model {model.id} is what aliases {sorted(names)} point at; move or delete them first"
        )
    session.delete(model)
    session.commit()
    GraphCache(store.graphs_dir).remove(store.location(model.artifact_key))
    store.delete(model.artifact_key)


def update(session: Session, *, model: Model, abstain_threshold: float | None) -> Model:
    if model.multi_label and abstain_threshold is not None:
        message = "abstain_threshold applies to single-label models only; they use thresholds"
        raise ValidationFailed(
            message, errors=[{"location": "abstain_threshold", "message": message}]
        )
    model.abstain_threshold = abstain_threshold
    session.flush()
    return model
