from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin


class Dataset(TimestampMixin, Base):
    __tablename__ = "dataset"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source_format: Mapped[str] = mapped_column(String(10))
    num_examples: Mapped[int] = mapped_column(Integer)
    label_counts: Mapped[dict[str, int]] = mapped_column(JSON)
    multi_label: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    warnings: Mapped[list[str]] = mapped_column(JSON)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("dataset.id", ondelete="SET NULL"), default=None
    )
    shared_rows: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    chain_depth: Mapped[int] = mapped_column(Integer, server_default="0", default=0)


class DatasetExample(Base):
    __tablename__ = "dataset_example"

    dataset_id: Mapped[str] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    labels: Mapped[list[str] | None] = mapped_column(JSON, default=None)
