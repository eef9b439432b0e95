"""one conversation per kind

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A participant may have an absence report and a complaint in progress at once.
    with op.batch_alter_table("conversations", recreate="always") as batch_op:
        batch_op.drop_constraint("pk_conversations", type_="primary")
        batch_op.create_primary_key("pk_conversations", ["telegram_user_id", "kind"])
        batch_op.add_column(
            sa.Column("last_update_id", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    # Keep the most recent conversation of each user, as before.
    op.execute(
        "DELETE FROM conversations WHERE updated_at < "
        "(SELECT MAX(c.updated_at) FROM conversations c "
        "WHERE c.telegram_user_id = conversations.telegram_user_id)"
    )
    with op.batch_alter_table("conversations", recreate="always") as batch_op:
        batch_op.drop_column("last_update_id")
        batch_op.drop_constraint("pk_conversations", type_="primary")
        batch_op.create_primary_key("pk_conversations", ["telegram_user_id"])
