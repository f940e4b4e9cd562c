"""jobs that evaluate or accelerate a model

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 02:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="train", nullable=False)
        )
        batch_op.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("result", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM job WHERE kind != 'train'")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("result")
        batch_op.drop_column("request")
        batch_op.drop_column("kind")
