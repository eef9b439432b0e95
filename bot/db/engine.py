"""Engine, sessions and the unit of work that gives each service call one transaction."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import weakref
from collections.abc import AsyncIterator
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
from sqlalchemy.util import await_

# Imported for its flush hook too, which keeps the staff queue in step with its items.
from bot.db import queue_index, sqlite_on_loop
from bot.loops import wait_for_any

log = logging.getLogger(__name__)


def make_engine(url: str, *, pool_size: int = 5, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection.

    `pool_size`: how many connections the process uses at once, which stay open. The pool
    closes any beyond that as they come back, and opening one costs far more than using it:
    on SQLite the schema is read and every statement prepared again, on PostgreSQL a server
    process starts.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # An in-memory database lives in its one connection: there is no pool to size.
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["pool_size"] = pool_size
        engine = create_async_engine(
            url,
            async_creator=sqlite_on_loop.connector(parsed, timeout=30),
            hide_parameters=True,
            **kwargs,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        _WriteTurns(parsed.database).install(engine)
        return engine
    # hide_parameters: error logs must not carry names or message text.
    return create_async_engine(
        url, pool_pre_ping=True, hide_parameters=True, pool_size=pool_size, **kwargs
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dashboard read while the bot writes; NORMAL is durable enough with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class _WriteTurns:
    """SQLite lets one transaction write at a time. Within this process, writers take turns
    here, first come first served, instead of in SQLite's busy handler. Statements run on
    the event loop (bot/db/sqlite_on_loop.py), so a writer waiting there would stop the
    loop, and with it the writer it waits for. The turns are shared by every engine of
    the process on the same database file. (Other processes, such as a CLI command, still
    meet the busy handler.)

    A transaction takes its turn at its first write (pysqlite begins one there) and gives
    it up when its connection goes back to the pool: after the commit or rollback has
    finished (a session gives its connection back at the end of each transaction), so the
    next writer never finds SQLite's lock still held.
    """

    HOLDS = "companion_write_turn"
    TIMEOUT_SECONDS = 30.0  # as long as the busy handler would have waited

    def __init__(self, database: str | None) -> None:
        # Each in-memory database is a database of its own.
        in_memory = database in (None, "", ":memory:")
        self._database = str(id(self)) if in_memory else str(Path(str(database)).resolve())

    def install(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(engine.sync_engine.pool, "checkin", self._checked_in)

    def _before_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(self.HOLDS) or not _WRITES.match(statement):
            return
        # An asyncio lock belongs to one event loop (tests run several, one after another).
        turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
        turn = turns.setdefault(self._database, asyncio.Lock())
        # Sync code run by SQLAlchemy's asyncio layer: await_ waits here without blocking
        # the event loop.
        try:
            await_(asyncio.wait_for(turn.acquire(), self.TIMEOUT_SECONDS))
        except TimeoutError:
            raise TimeoutError("waited 30 s for a turn to write to the database") from None
        conn.info[self.HOLDS] = turn

    def _checked_in(self, _dbapi_connection: Any, record: Any) -> None:
        turn = record.info.pop(self.HOLDS, None) if record is not None else None
        if turn is not None:
            turn.release()


# Write turns by event loop, then by database file.
_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


@contextlib.asynccontextmanager
async def checkpoints_in_background(engine: AsyncEngine, every: float = 5.0) -> AsyncIterator[None]:
    """While open, SQLite's write-ahead log is copied into the database file every `every`
    seconds by a connection of its own, in a thread, instead of inside a commit.

    SQLite checkpoints when a commit takes the log past 1,000 pages, within that commit,
    so the writer keeps its turn (and the write lock) while it copies and syncs megabytes,
    and every other writer waits. A PASSIVE checkpoint blocks nobody. Every 5 s rather
    than every second: each copies a hot page once, however often it changed (figures in
    bench/README.md). For long-running processes; a short one (a CLI command) leaves it to
    SQLite, which also checkpoints when the last connection closes. Does nothing on
    PostgreSQL.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        yield
        return
    pool = engine.sync_engine.pool

    def no_checkpoints_in_commits(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if not record.info.get(_NO_AUTOCHECKPOINT):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()
            record.info[_NO_AUTOCHECKPOINT] = True

    path = engine.url.database

    def checkpoint_now() -> None:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def checkpoint(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                # In a thread: it copies and syncs megabytes, and statements run on the loop.
                await asyncio.to_thread(checkpoint_now)
            except Exception:
                log.exception("could not checkpoint the database; will try again")
            await wait_for_any(every, stop)

    event.listen(pool, "checkout", no_checkpoints_in_commits)
    stop = asyncio.Event()
    task = asyncio.create_task(checkpoint(stop), name="sqlite-checkpoints")
    try:
        yield
    finally:
        stop.set()
        await task
        event.remove(pool, "checkout", no_checkpoints_in_commits)


_NO_AUTOCHECKPOINT = "companion_no_autocheckpoint"


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
