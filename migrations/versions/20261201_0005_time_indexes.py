"""time indexes for the incremental snapshot load

The incremental snapshot load (core.pool_snapshot) reads only the rows a new collection run
wrote or the clock moved: ranges of these time columns. Without an index each read scanned
its whole table (at 100k pools, ~0.8 s of the ~1.8 s load on SQLite).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): each index is named ix_<table>_<column>, as the models name them.
TIME_COLUMNS = (
    ("offerings", "first_seen"),
    ("offerings", "last_seen"),
    ("spot_prices", "ts"),
    ("spot_prices", "observed_at"),
    ("on_demand_prices", "observed_at"),
    ("placement_scores", "observed_at"),
    ("interruption_rates", "observed_at"),
    ("fleet_events", "occurred_at"),
    ("fleet_events", "observed_at"),
)


def upgrade() -> None:
    for table, column in TIME_COLUMNS:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(TIME_COLUMNS):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
