"""Where a pass goes: the number a requester typed for a text message, and where a delivered
pass went (masked).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("tap_requests", sa.Column("typed_number", sa.Text(), nullable=True))
    op.add_column(
        "tap_requests",
        sa.Column("delivered_to", sa.Text(), nullable=False, server_default=sa.text("''")),
    )


def downgrade() -> None:
    op.drop_column("tap_requests", "delivered_to")
    op.drop_column("tap_requests", "typed_number")
