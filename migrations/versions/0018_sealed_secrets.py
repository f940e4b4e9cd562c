"""webhook and trigger secrets stored sealed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 01:30:00.000000

The values are sealed after the upgrade by `app.services.secrets.reseal_all`, which
`adaptd migrate` runs; until then the plaintext values still open (they start with `whsec_`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("webhook_endpoint", "secret", "sealed_secret", False),
    ("trigger", "secret", "sealed_secret", False),
    ("trigger", "previous_secret", "sealed_previous_secret", True),
)


def upgrade() -> None:
    for table, old, new, nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                old,
                new_column_name=new,
                type_=sa.Text(),
                existing_type=sa.String(length=100),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    """Back to plaintext columns; the sealed values must be opened first, which needs the keys,
    so a downgrade is refused while any secret is sealed."""
    connection = op.get_bind()
    for table, _old, new, _nullable in COLUMNS:
        sealed = connection.execute(
            sa.text(f"SELECT count(*) FROM \"{table}\" WHERE {new} NOT LIKE 'whsec_%'")
        ).scalar_one()
        if sealed:
            raise RuntimeError(f"{table}.{new} holds sealed secrets; a downgrade would lose them")
    for table, old, new, nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                new,
                new_column_name=old,
                type_=sa.String(length=100),
                existing_type=sa.Text(),
                existing_nullable=nullable,
            )
