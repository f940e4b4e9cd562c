"""strategies, multi-label data and evaluations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 23:29:29.391281
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        # 0001 declared job.model_id's key with use_alter, which create_table skips outside
        # SQLite (where the key is inline); add it where it is missing.
        op.create_foreign_key(
            op.f("fk_job_model_id_model"),
            "job",
            "model",
            ["model_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "evaluation",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("model_id", sa.String(length=40), nullable=False),
        sa.Column("dataset_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
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
            ["model_id"],
            ["model.id"],
            name=op.f("fk_evaluation_model_id_model"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_evaluation_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation")),
    )
    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_model_id"), ["model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_team_id"), ["team_id"], unique=False)

    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("multi_label", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("dataset_example", schema=None) as batch_op:
        batch_op.add_column(sa.Column("labels", sa.JSON(), nullable=True))

    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "requested_strategy", sa.String(length=20), server_default="full", nullable=False
            )
        )
        batch_op.add_column(sa.Column("strategy_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("budget", sa.String(length=20), server_default="standard", nullable=False)
        )
        batch_op.add_column(sa.Column("label_descriptions", sa.JSON(), nullable=True))

    with op.batch_alter_table("model", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("multi_label", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_job_model_id_model"), "job", type_="foreignkey")
    with op.batch_alter_table("model", schema=None) as batch_op:
        batch_op.drop_column("multi_label")

    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_column("label_descriptions")
        batch_op.drop_column("budget")
        batch_op.drop_column("strategy_reason")
        batch_op.drop_column("requested_strategy")

    with op.batch_alter_table("dataset_example", schema=None) as batch_op:
        batch_op.drop_column("labels")

    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_column("multi_label")

    with op.batch_alter_table("evaluation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_team_id"))
        batch_op.drop_index(batch_op.f("ix_evaluation_model_id"))

    op.drop_table("evaluation")
