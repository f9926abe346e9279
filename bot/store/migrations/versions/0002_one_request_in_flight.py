"""At most one request per target in ``approved`` or ``issuing`` (a partial unique index).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_IN_FLIGHT = "state IN ('approved', 'issuing')"


def upgrade() -> None:
    op.create_index(
        "uq_tap_requests_target_in_flight",
        "tap_requests",
        ["target_id"],
        unique=True,
        sqlite_where=sa.text(_IN_FLIGHT),
        postgresql_where=sa.text(_IN_FLIGHT),
    )


def downgrade() -> None:
    op.drop_index("uq_tap_requests_target_in_flight", table_name="tap_requests")
