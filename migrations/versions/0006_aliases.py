"""aliases

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 00:18:12.312394
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alias",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("model_id", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["model.id"], name=op.f("fk_alias_model_id_model"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_alias_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alias")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_alias_team_id")),
    )
    with op.batch_alter_table("alias", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alias_model_id"), ["model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alias_team_id"), ["team_id"], unique=False)

    op.create_table(
        "alias_move",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alias_id", sa.String(length=40), nullable=False),
        sa.Column("from_model_id", sa.String(length=40), nullable=True),
        sa.Column("to_model_id", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("is_rollback", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("rolled_back", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["alias_id"],
            ["alias.id"],
            name=op.f("fk_alias_move_alias_id_alias"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alias_move")),
    )
    with op.batch_alter_table("alias_move", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alias_move_alias_id"), ["alias_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alias_move", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alias_move_alias_id"))

    op.drop_table("alias_move")
    with op.batch_alter_table("alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alias_team_id"))
        batch_op.drop_index(batch_op.f("ix_alias_model_id"))

    op.drop_table("alias")
