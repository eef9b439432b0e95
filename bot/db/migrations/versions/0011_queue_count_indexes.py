"""queue indexes that pages walk and counts read alone, open and closed items

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = {
    "sqlite_where": sa.text("task IS NOT NULL"),
    "postgresql_where": sa.text("task IS NOT NULL"),
}
_CLOSED = {
    "sqlite_where": sa.text("task IS NULL"),
    "postgresql_where": sa.text("task IS NULL"),
}
_ASSIGNED = {
    "sqlite_where": sa.text("assignee_id IS NOT NULL"),
    "postgresql_where": sa.text("assignee_id IS NOT NULL"),
}
_TESTED = ["deadline", "about_staff_id", "assignee_id", "stage"]
_PERSONAL = ["kind", "task", "due", "id", "deadline"]


def upgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_items_open", **_OPEN)
        batch_op.drop_index("ix_queue_items_participant", **_OPEN)
        batch_op.drop_index("ix_queue_items_assignee", **_OPEN)
        batch_op.create_index(
            "ix_queue_items_open",
            ["due", "id", "deadline", "about_staff_id"],
            unique=False,
            **_OPEN,
        )
        batch_op.create_index(
            "ix_queue_items_kind", ["kind", "due", "id", *_TESTED, "task"], unique=False, **_OPEN
        )
        batch_op.create_index("ix_queue_items_closed", ["due", "id"], unique=False, **_CLOSED)
        batch_op.create_index(
            "ix_queue_items_closed_kind", ["kind", "due", "id", *_TESTED], unique=False, **_CLOSED
        )
        batch_op.create_index(
            "ix_queue_items_participant", ["participant_id", *_PERSONAL], unique=False
        )
        batch_op.create_index(
            "ix_queue_items_assignee", ["assignee_id", *_PERSONAL], unique=False, **_ASSIGNED
        )


def downgrade() -> None:
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_items_assignee", **_ASSIGNED)
        batch_op.drop_index("ix_queue_items_participant")
        batch_op.drop_index("ix_queue_items_closed_kind", **_CLOSED)
        batch_op.drop_index("ix_queue_items_closed", **_CLOSED)
        batch_op.drop_index("ix_queue_items_kind", **_OPEN)
        batch_op.drop_index("ix_queue_items_open", **_OPEN)
        batch_op.create_index(
            "ix_queue_items_assignee", ["assignee_id", "due", "id"], unique=False, **_OPEN
        )
        batch_op.create_index("ix_queue_items_open", ["due", "id"], unique=False, **_OPEN)
        batch_op.create_index(
            "ix_queue_items_participant", ["participant_id", "due", "id"], unique=False, **_OPEN
        )
