"""Engine, sessions and the unit of work that gives each service call one transaction."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Imported for its flush hook too, which keeps the staff queue in step with its items.
from bot.db import queue_index


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, hide_parameters=True, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # hide_parameters: error logs must not carry names or message text.
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while the bot writes; NORMAL is durable enough with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: AsyncEngine, zone: ZoneInfo) -> async_sessionmaker[AsyncSession]:
    """Sessions for services; `zone` is the area's, for the local days the queue sorts by."""
    # expire_on_commit=False: objects stay readable after commit without lazy loads.
    return async_sessionmaker(engine, expire_on_commit=False, info={queue_index.ZONE_KEY: zone})


class UnitOfWork:
    """One session and one transaction per service call.

    `async with uow() as session: ...; await session.commit()`; leaving without a commit
    rolls back.
    """

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> AsyncSession:
        self._session = self._factory()
        return self._session

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is None:
            raise RuntimeError("unit of work exited without being entered")
        try:
            if exc_type is not None:
                await self._session.rollback()
        finally:
            # Closing ends any uncommitted transaction without expiring what was read.
            await self._session.close()
            self._session = None
