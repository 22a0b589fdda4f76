"""weekly reports, one row per ISO week

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 04:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "weekly_reports",
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("generated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("recommendations", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_weekly_reports")),
    )


def downgrade() -> None:
    op.drop_table("weekly_reports")
