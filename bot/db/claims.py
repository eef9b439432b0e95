"""Insert-once claims: the database's unique keys decide who does a thing, across processes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Base


async def insert_once(
    session: AsyncSession, model: type[Base], unique: list[str], **values: Any
) -> bool:
    """Insert a row unless one with the same `unique` columns exists; True if this call did.

    `INSERT ... ON CONFLICT DO NOTHING` on both SQLite and PostgreSQL, so two processes
    racing for the same key never both win and neither fails.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = await session.execute(
        insert(model).values(**values).on_conflict_do_nothing(index_elements=unique)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def insert_new(
    session: AsyncSession, model: type[Base], unique: list[str], rows: list[dict[str, Any]]
) -> set[tuple[Any, ...]]:
    """`insert_once` for many rows in one statement; returns the `unique` values of the rows
    this call inserted (those already there, by anyone, are left out)."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [getattr(model, name) for name in unique]
    result = await session.execute(
        insert(model).values(rows).on_conflict_do_nothing(index_elements=unique).returning(*columns)
    )
    return {tuple(row) for row in result.all()}


async def upsert(
    session: AsyncSession, model: type[Base], unique: list[str], **values: Any
) -> None:
    """Insert a row, or update the one with the same `unique` columns: one statement, so
    processes starting together cannot both insert (as a select-then-insert merge can)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    changes = {name: value for name, value in values.items() if name not in unique}
    await session.execute(
        insert(model).values(**values).on_conflict_do_update(index_elements=unique, set_=changes)
    )
