"""SQLite statements run on the event loop's own thread, and behave as with aiosqlite."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import make_engine
from bot.db.sqlite_on_loop import statements_in_a_thread


def _engine_reporting_threads(tmp_path: Path, threads: list[int]) -> AsyncEngine:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}")

    def add_function(dbapi_connection: Any, _record: Any) -> None:
        def thread_id() -> int:
            threads.append(threading.get_ident())
            return 1

        dbapi_connection.create_function("thread_id", 0, thread_id)

    event.listen(engine.sync_engine, "connect", add_function)
    return engine


async def test_statements_run_on_the_event_loops_thread(tmp_path: Path) -> None:
    threads: list[int] = []
    engine = _engine_reporting_threads(tmp_path, threads)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT thread_id()")) == 1
    finally:
        await engine.dispose()
    # aiosqlite would have run it on a thread of its own.
    assert threads == [threading.get_ident()]


async def test_work_that_may_take_long_runs_its_statements_in_a_thread(tmp_path: Path) -> None:
    threads: list[int] = []
    engine = _engine_reporting_threads(tmp_path, threads)
    try:
        with statements_in_a_thread():
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
                await connection.execute(text("INSERT INTO t SELECT thread_id()"))
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 1
            await connection.scalar(text("SELECT thread_id()"))
    finally:
        await engine.dispose()
    assert threads[0] != threading.get_ident()  # inside the block
    assert threads[1] == threading.get_ident()  # after it, on the loop again


async def test_transactions_errors_and_autocommit_behave_as_before(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'loop.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
            await connection.execute(text("INSERT INTO t VALUES (1, 'Ali')"))
        async with engine.connect() as connection:
            await connection.execute(text("INSERT INTO t VALUES (2, 'Ben')"))
            await connection.rollback()
            with pytest.raises(IntegrityError):
                await connection.execute(text("INSERT INTO t VALUES (1, 'again')"))
            await connection.rollback()
            rows = (await connection.execute(text("SELECT id, name FROM t"))).all()
        assert [tuple(row) for row in rows] == [(1, "Ali")]

        # SQLAlchemy changes the isolation level through the driver's own thread queue.
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("INSERT INTO t VALUES (3, 'Cal')"))
            await autocommit.rollback()  # nothing to undo: it was committed at once
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 2
            await connection.execute(text("INSERT INTO t VALUES (4, 'Dan')"))
            await connection.rollback()  # back in transactions: undone
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 2
    finally:
        await engine.dispose()
