"""retraining triggers and dataset versions

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 02:53:26.625907
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trigger",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("team_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("job", sa.JSON(), nullable=False),
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("gate_metric", sa.String(length=20), nullable=False),
        sa.Column("gate_min_delta", sa.Float(), nullable=False),
        sa.Column("eval_dataset_id", sa.String(length=40), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("rerun_requested", sa.Boolean(), server_default=sa.false(), nullable=False),
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
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_trigger_dataset_id_dataset"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["eval_dataset_id"],
            ["dataset.id"],
            name=op.f("fk_trigger_eval_dataset_id_dataset"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_trigger_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger")),
        sa.UniqueConstraint("team_id", "name", name=op.f("uq_trigger_team_id")),
    )
    with op.batch_alter_table("trigger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trigger_team_id"), ["team_id"], unique=False)

    op.create_table(
        "trigger_fire",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trigger_id", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
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
            ["trigger_id"],
            ["trigger.id"],
            name=op.f("fk_trigger_fire_trigger_id_trigger"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_fire")),
        sa.UniqueConstraint("trigger_id", "message_id", name=op.f("uq_trigger_fire_trigger_id")),
    )
    op.create_table(
        "trigger_run",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("trigger_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dataset_id", sa.String(length=40), nullable=False),
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("candidate_model_id", sa.String(length=40), nullable=True),
        sa.Column("current_model_id", sa.String(length=40), nullable=True),
        sa.Column("candidate_score", sa.Float(), nullable=True),
        sa.Column("current_score", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
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
            ["trigger_id"],
            ["trigger.id"],
            name=op.f("fk_trigger_run_trigger_id_trigger"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trigger_run")),
    )
    with op.batch_alter_table("trigger_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trigger_run_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_trigger_run_trigger_id"), ["trigger_id"], unique=False)

    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_dataset_parent_id_dataset"),
            "dataset",
            ["parent_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_dataset_parent_id_dataset"), type_="foreignkey")
        batch_op.drop_column("parent_id")

    with op.batch_alter_table("trigger_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trigger_run_trigger_id"))
        batch_op.drop_index(batch_op.f("ix_trigger_run_status"))

    op.drop_table("trigger_run")
    op.drop_table("trigger_fire")
    with op.batch_alter_table("trigger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trigger_team_id"))

    op.drop_table("trigger")
