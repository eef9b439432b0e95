"""complaints sent or escalated whose staff are still to be told

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 00:30:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WAITING: dict[str, Any] = {
    "sqlite_where": sa.text("staff_to_tell"),
    "postgresql_where": sa.text("staff_to_tell"),
}


# Plain ALTER TABLE ADD COLUMN and CREATE INDEX, which SQLite does in place: a batch
# would copy the table, which other tables' keys point at.


def upgrade() -> None:
    op.add_column(
        "complaints",
        sa.Column("staff_to_tell", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index("ix_complaints_staff_to_tell", "complaints", ["id"], **_WAITING)


def downgrade() -> None:
    op.drop_index("ix_complaints_staff_to_tell", "complaints", **_WAITING)
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_column("staff_to_tell")
