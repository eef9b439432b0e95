"""The intake table's statements: store updates before they are acknowledged, claim them
when handled, and find those a crash or a failure left unhandled."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import InboundUpdate


def _insert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def store_updates(
    session: AsyncSession, payloads: Sequence[dict[str, Any]], now: datetime, hold: timedelta
) -> None:
    """Store raw updates (one statement); ones already stored are left as they are.

    The receiving process holds each for `hold`; after that any process may retry it.
    """
    if not payloads:
        return
    rows = [
        {
            "update_id": payload["update_id"],
            "payload": payload,
            "received_at": now,
            "next_attempt_at": now + hold,
            "attempts": 0,
        }
        for payload in payloads
    ]
    connection = await session.connection()
    await connection.execute(_STORE[connection.dialect.name], rows)


async def store_failed(
    session: AsyncSession,
    payload: dict[str, Any],
    now: datetime,
    delay: timedelta,
    error: str,
) -> None:
    """Store an update whose handling failed before it was stored, due again after `delay`."""
    await session.execute(
        _insert(session.get_bind().dialect.name)(InboundUpdate)
        .values(
            update_id=payload["update_id"],
            payload=payload,
            received_at=now,
            next_attempt_at=now + delay,
            attempts=1,
            last_error=error[:500],
        )
        .on_conflict_do_nothing(index_elements=["update_id"])
    )


def _claim_statement(dialect: str) -> Any:
    now: BindParameter[datetime] = bindparam("now")
    return (
        _insert(dialect)(InboundUpdate)
        .values(
            update_id=bindparam("update_id"),
            payload=None,
            received_at=now,
            processed_at=now,
            next_attempt_at=now,
            attempts=0,
        )
        .on_conflict_do_update(
            index_elements=["update_id"],
            set_={"processed_at": now, "payload": None},
            where=InboundUpdate.processed_at.is_(None),
        )
    )


# Every update runs these: built once per dialect, as building them each time cost more than
# running them.
_STORE = {
    dialect: _insert(dialect)(InboundUpdate).on_conflict_do_nothing(index_elements=["update_id"])
    for dialect in ("sqlite", "postgresql")
}
_CLAIM = {dialect: _claim_statement(dialect) for dialect in ("sqlite", "postgresql")}


async def claim_update(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Mark an update handled in the caller's transaction; False if it was handled before.

    One statement that works whether or not the update was stored first (the CLI and the
    tests hand updates straight to the services).
    """
    connection = await session.connection()  # Core: with parameters, the ORM would bulk insert
    statement = _CLAIM[connection.dialect.name]
    result = await connection.execute(statement, {"update_id": update_id, "now": now})
    return bool(result.rowcount)


async def mark_handled(session: AsyncSession, update_ids: Sequence[int], now: datetime) -> None:
    """Stored updates handled since (their answers claimed them): handled, payload gone."""
    await session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id.in_(update_ids), InboundUpdate.processed_at.is_(None))
        .values(processed_at=now, payload=None)
    )


async def retry_later(
    session: AsyncSession, update_id: int, now: datetime, delay: timedelta, error: str
) -> None:
    await session.execute(
        update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id, InboundUpdate.processed_at.is_(None))
        .values(
            attempts=InboundUpdate.attempts + 1,
            next_attempt_at=now + delay,
            last_error=error[:500],
        )
    )


async def take_due(
    session: AsyncSession, now: datetime, hold: timedelta, limit: int
) -> list[dict[str, Any]]:
    """Unhandled updates whose holder's time is up, oldest first, now held by the caller."""
    ids = list(
        await session.scalars(
            select(InboundUpdate.update_id)
            .where(InboundUpdate.processed_at.is_(None), InboundUpdate.next_attempt_at <= now)
            .order_by(InboundUpdate.update_id)
            .limit(limit)
        )
    )
    if not ids:
        return []
    # Take each only if nobody took it meanwhile (compare and set on next_attempt_at).
    result = await session.execute(
        update(InboundUpdate)
        .where(
            InboundUpdate.update_id.in_(ids),
            InboundUpdate.processed_at.is_(None),
            InboundUpdate.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + hold)
        .returning(InboundUpdate.payload)
        .execution_options(synchronize_session=False)
    )
    return sorted(
        (payload for payload in result.scalars() if payload is not None),
        key=lambda payload: payload["update_id"],
    )
