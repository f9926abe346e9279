"""tapbot's record of each person's manager, and the users delta query's progress and lease.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "manager_records",
        _text("user_id"),
        _text("manager_id", nullable=True),
        _text("previous_manager_id", nullable=True),
        _time("changed_at", nullable=True),
        sa.Column("first_seen", sa.Boolean(), nullable=False),
        _time("seen_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_manager_records"),
    )
    op.create_table(
        "users_delta",
        _text("stream"),
        _text("link", nullable=True),
        sa.Column("full_round", sa.Boolean(), nullable=False),
        _time("baseline_at", nullable=True),
        _time("polled_at", nullable=True),
        _text("lease_owner", nullable=True),
        _time("lease_until", nullable=True),
        sa.PrimaryKeyConstraint("stream", name="pk_users_delta"),
    )


def downgrade() -> None:
    op.drop_table("users_delta")
    op.drop_table("manager_records")
