from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class Alias(TimestampMixin, Base):
    """A team's stable name for one of its models."""

    __tablename__ = "alias"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    model_id: Mapped[str] = mapped_column(ForeignKey("model.id", ondelete="RESTRICT"), index=True)


class AliasMove(TimestampMixin, Base):
    """One change of an alias's model: who moved it, from which model to which, and why."""

    __tablename__ = "alias_move"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alias_id: Mapped[str] = mapped_column(ForeignKey("alias.id", ondelete="CASCADE"), index=True)
    from_model_id: Mapped[str | None] = mapped_column(String(40))
    to_model_id: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    is_rollback: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    rolled_back: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
