"""Joiner reminders: one row per (joiner, hire day) with its claim lease, and one per daily sweep.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "joiner_events",
        _text("joiner_id"),
        sa.Column("hire_day", sa.Date(), nullable=False),
        _text("state"),
        _text("owner", nullable=True),
        _time("lease_until", nullable=True),
        _time("remind_at", nullable=True),
        _text("recipient", nullable=True),
        _text("recipient_id", nullable=True),
        _text("conversation_key", nullable=True),
        _text("activity_id", nullable=True),
        _text("reason", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("joiner_id", "hire_day", name="pk_joiner_events"),
    )
    op.create_index("ix_joiner_events_state", "joiner_events", ["state"])
    op.create_table(
        "joiner_sweeps",
        sa.Column("day", sa.Date(), nullable=False),
        _text("state"),
        _text("owner"),
        _time("lease_until"),
        _time("started_at"),
        _time("finished_at", nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_joiner_sweeps"),
    )


def downgrade() -> None:
    op.drop_table("joiner_sweeps")
    op.drop_index("ix_joiner_events_state", table_name="joiner_events")
    op.drop_table("joiner_events")
