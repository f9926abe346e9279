"""One request lifecycle: kinds, approval stages and decisions, the issuing window, the copies
of each request's cards, and rate-limit events.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column(
        "tap_requests",
        sa.Column("kind", sa.Text(), nullable=False, server_default=sa.text("'manager'")),
    )
    for name, empty in (("stages", "'[]'"), ("decisions", "'[]'"), ("context", "'{}'")):
        op.add_column(
            "tap_requests",
            sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text(empty)),
        )
    for name in ("stage_due_at", "issuing_started_at", "issuing_ended_at"):
        op.add_column("tap_requests", _time(name, nullable=True))
    op.create_index("ix_tap_requests_state_due", "tap_requests", ["state", "stage_due_at"])
    op.create_index("ix_tap_requests_state_updated", "tap_requests", ["state", "updated_at"])

    op.create_table(
        "request_messages",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("activity_id", sa.Text(), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        _time("posted_at"),
        sa.PrimaryKeyConstraint("id", name="pk_request_messages"),
    )
    op.create_index("ix_request_messages_request", "request_messages", ["request_id"])

    op.create_table(
        "rate_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        _time("at"),
        sa.PrimaryKeyConstraint("id", name="pk_rate_events"),
    )
    op.create_index("ix_rate_events_bucket_key_at", "rate_events", ["bucket", "key", "at"])
    op.create_index("ix_rate_events_at", "rate_events", ["at"])


def downgrade() -> None:
    op.drop_table("rate_events")
    op.drop_table("request_messages")
    op.drop_index("ix_tap_requests_state_updated", table_name="tap_requests")
    op.drop_index("ix_tap_requests_state_due", table_name="tap_requests")
    for name in (
        "issuing_ended_at",
        "issuing_started_at",
        "stage_due_at",
        "context",
        "decisions",
        "stages",
        "kind",
    ):
        op.drop_column("tap_requests", name)
