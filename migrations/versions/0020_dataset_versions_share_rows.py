"""dataset versions share their parent's rows

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 02:00:00.000000

Existing versions hold all their rows (`shared_rows` 0); new ones store only their own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shared_rows", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("chain_depth", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    """Each version takes a copy of the rows it reads from its parents first."""
    connection = op.get_bind()
    sharing = connection.execute(
        sa.text("SELECT id FROM dataset WHERE shared_rows > 0 ORDER BY chain_depth DESC")
    ).scalars()
    for dataset_id in list(sharing):
        _materialize(connection, dataset_id)
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_column("chain_depth")
        batch_op.drop_column("shared_rows")


def _materialize(connection: sa.Connection, dataset_id: str) -> None:
    ancestor, shared = connection.execute(
        sa.text("SELECT parent_id, shared_rows FROM dataset WHERE id = :id"), {"id": dataset_id}
    ).one()
    while ancestor is not None and shared > 0:
        connection.execute(
            sa.text(
                "INSERT INTO dataset_example (dataset_id, position, text, label, labels) "
                "SELECT :to, position, text, label, labels FROM dataset_example "
                "WHERE dataset_id = :source AND position < :shared AND position >= "
                "(SELECT shared_rows FROM dataset WHERE id = :source)"
            ),
            {"to": dataset_id, "source": ancestor, "shared": shared},
        )
        ancestor, shared = connection.execute(
            sa.text("SELECT parent_id, shared_rows FROM dataset WHERE id = :id"),
            {"id": ancestor},
        ).one()
