"""indexes for the queue's hot queries at scale (benchmarks/scale_out.py)

A team's latest job start for fair scheduling, and the first page of a team's models and
jobs, read an index in order instead of every row the team ever had.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_job_team_id_started_at", "job", ["team_id", "started_at"])
    op.create_index("ix_job_team_id_id", "job", ["team_id", "id"])
    op.create_index("ix_model_team_id_id", "model", ["team_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_model_team_id_id", table_name="model")
    op.drop_index("ix_job_team_id_id", table_name="job")
    op.drop_index("ix_job_team_id_started_at", table_name="job")
