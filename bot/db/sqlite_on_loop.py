"""SQLite for SQLAlchemy's asyncio engine, with each statement run on the event loop.

aiosqlite runs every call in a thread of its own and wakes the event loop for its result.
SQLAlchemy makes four such calls per statement (open a cursor, execute, fetch, close), and
each hand-over costs more CPU than the statement: about 350 µs against 45 µs for a lookup
by key (figures in bench/README.md). The bot spends most of its time on such statements.
A statement on an indexed table in the page cache takes microseconds, so here it runs where
it is called, and the loop never waits on a thread.

Work whose statements may take long (a reminder pass over every cohort, a dashboard page
over a million queue items) runs them in a thread instead, inside
`statements_in_a_thread()`, so that it never holds up a man's reply. Checkpoints run in a
thread too (`engine.checkpoints_in_background`), and writers of one process take turns on
the loop (`engine._WriteTurns`) before they can meet SQLite's lock. Only a writer in another
process (a CLI command) can make a statement wait here, for as long as that process holds
the lock.

The objects below are what SQLAlchemy's aiosqlite dialect calls on an aiosqlite
connection, given to it through `create_async_engine(async_creator=...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy.engine import URL

_IN_A_THREAD: ContextVar[bool] = ContextVar("sqlite_statements_in_a_thread", default=False)
T = TypeVar("T")


@contextlib.contextmanager
def statements_in_a_thread() -> Iterator[None]:
    """Within this block (and tasks started in it), this task's SQLite statements run in a
    thread, leaving the event loop free meanwhile."""
    token = _IN_A_THREAD.set(True)
    try:
        yield
    finally:
        _IN_A_THREAD.reset(token)


async def _run(function: Callable[..., T], *args: Any) -> T:
    if _IN_A_THREAD.get():
        return await asyncio.to_thread(function, *args)
    return function(*args)


def connector(url: URL, **connect_args: Any) -> Callable[[], Awaitable[OnLoopConnection]]:
    """`async_creator` for an engine on `url`: the connection aiosqlite would have opened,
    with the same arguments, without its thread."""
    (database,), options = url.get_dialect()().create_connect_args(url)
    # Opened on the loop's thread; SQLAlchemy may close it from another (garbage collection).
    options = {**options, **connect_args, "check_same_thread": False}

    async def connect() -> OnLoopConnection:
        return OnLoopConnection(sqlite3.connect(database, **options))

    return connect


class OnLoopCursor:
    """An aiosqlite cursor's awaitable methods, done at once (or in a thread)."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> OnLoopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> OnLoopCursor:
        await _run(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> OnLoopCursor:
        await _run(self._cursor.executemany, sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return await _run(self._cursor.fetchone)

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return await _run(self._cursor.fetchmany, self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        return await _run(self._cursor.fetchall)

    async def close(self) -> None:
        self._cursor.close()


class OnLoopConnection:
    """An aiosqlite connection's interface over an sqlite3 connection."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        # SQLAlchemy's adapter reads `_connection` (None once closed) and hands a function
        # to `_tx` to change the isolation level on aiosqlite's thread; here it runs at once.
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> OnLoopCursor:
        return OnLoopCursor(self._conn.cursor())

    async def commit(self) -> None:
        await _run(self._conn.commit)

    async def rollback(self) -> None:
        await _run(self._conn.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


class _RunNow:
    """Stands in for aiosqlite's queue of calls for its thread."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:
            future.set_exception(error)
