"""SQLite writers in one process take turns in order, and a turn is always given back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.db.models import AppState


async def _engine(tmp_path: Path) -> AsyncEngine:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    await upgrade(engine)

    def no_busy_waiting(dbapi_connection: Any, _record: Any) -> None:
        # Without turns, a second writer would now fail at once with "database is locked".
        dbapi_connection.cursor().execute("PRAGMA busy_timeout=0")

    event.listen(engine.sync_engine, "connect", no_busy_waiting)
    await engine.dispose()  # connections from now on get it
    return engine


async def _two_writers(first_engine: AsyncEngine, second_engine: AsyncEngine) -> list[str]:
    """The first writes and holds SQLite's write lock for 0.3 s; the second then writes."""
    order: list[str] = []
    first_wrote = asyncio.Event()

    async def first() -> None:
        async with async_sessionmaker(first_engine)() as session:
            session.add(AppState(key="a", value="1"))
            await session.flush()
            first_wrote.set()
            await asyncio.sleep(0.3)  # holds SQLite's write lock meanwhile
            order.append("first commits")
            await session.commit()

    async def second() -> None:
        await first_wrote.wait()
        async with async_sessionmaker(second_engine)() as session:
            # A read needs no turn.
            assert await session.scalar(select(AppState.value)) is None
            session.add(AppState(key="b", value="2"))
            await session.flush()
            order.append("second wrote")
            await session.commit()

    await asyncio.wait_for(asyncio.gather(first(), second()), 10)
    return order


async def test_a_second_writer_waits_for_the_first_to_commit(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    try:
        assert await _two_writers(engine, engine) == ["first commits", "second wrote"]
    finally:
        await engine.dispose()


async def test_a_turn_is_given_back_by_rollback_and_by_closing(tmp_path: Path) -> None:
    engine = await _engine(tmp_path)
    sessions = async_sessionmaker(engine)
    try:
        async with sessions() as session:
            await session.execute(text("INSERT INTO app_state (key, value) VALUES ('x', '1')"))
            await session.rollback()
        async with sessions() as session:
            session.add(AppState(key="y", value="1"))
            await session.flush()
            # Closed without a commit: the write is undone and the turn given back.
        async with sessions() as session:
            session.add(AppState(key="z", value="1"))
            await asyncio.wait_for(session.commit(), 5)
            assert (await session.scalars(select(AppState.key))).all() == ["z"]
    finally:
        await engine.dispose()


async def test_engines_of_one_process_share_the_turns(tmp_path: Path) -> None:
    first_engine, second_engine = await _engine(tmp_path), await _engine(tmp_path)
    try:
        order = await _two_writers(first_engine, second_engine)
        assert order == ["first commits", "second wrote"]
    finally:
        await first_engine.dispose()
        await second_engine.dispose()
