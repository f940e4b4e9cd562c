"""retention tallies and the indexes its sweeps use

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_tally",
        sa.Column("rule", sa.String(length=40), primary_key=True),
        sa.Column("removed", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("last_swept_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_idempotency_record_created_at", "idempotency_record", ["created_at"])
    op.create_index("ix_webhook_delivery_event_id", "webhook_delivery", ["event_id"])
    op.create_index("ix_webhook_event_created_at", "webhook_event", ["created_at"])
    op.create_index("ix_trigger_fire_created_at", "trigger_fire", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_trigger_fire_created_at", "trigger_fire")
    op.drop_index("ix_webhook_event_created_at", "webhook_event")
    op.drop_index("ix_webhook_delivery_event_id", "webhook_delivery")
    op.drop_index("ix_idempotency_record_created_at", "idempotency_record")
    op.drop_table("sweep_tally")
