from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class SweepTally(Base):
    """Rows each retention rule has removed so far, for /metrics."""

    __tablename__ = "sweep_tally"

    rule: Mapped[str] = mapped_column(String(40), primary_key=True)
    removed: Mapped[int] = mapped_column(BigInteger, default=0)
    last_swept_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
