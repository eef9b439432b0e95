"""the first answer to an update carries its id, unique: the update's claim

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 00:20:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIMS: dict[str, Any] = {
    "sqlite_where": sa.text("update_id IS NOT NULL"),
    "postgresql_where": sa.text("update_id IS NOT NULL"),
}


# Plain ALTER TABLE ADD COLUMN and CREATE INDEX, which SQLite does in place: a batch
# would copy the table, which other tables' keys point at.


def upgrade() -> None:
    op.add_column("outbox", sa.Column("update_id", sa.BigInteger(), nullable=True))
    op.create_index("ux_outbox_update_id", "outbox", ["update_id"], unique=True, **_CLAIMS)


def downgrade() -> None:
    op.drop_index("ux_outbox_update_id", "outbox", **_CLAIMS)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("update_id")
