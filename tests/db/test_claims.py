"""The insert-once and upsert statements hold when several processes race for one key."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.db.claims import insert_once, upsert
from bot.db.engine import make_engine
from bot.db.models import AppState

RACERS = 8


async def test_racing_upserts_all_succeed_and_leave_one_row(database_url: str) -> None:
    # Separate engines, as separate processes would have: each racer has its own connection.
    engines = [make_engine(database_url) for _ in range(RACERS)]
    try:

        async def put(n: int) -> None:
            async with async_sessionmaker(engines[n])() as session:
                await upsert(session, AppState, ["key"], key="bot_username", value=f"bot_{n}")
                await session.commit()

        await asyncio.gather(*(put(n) for n in range(RACERS)))
        async with async_sessionmaker(engines[0])() as session:
            rows = (await session.scalars(select(AppState.value))).all()
            assert len(rows) == 1 and rows[0] in {f"bot_{n}" for n in range(RACERS)}
            await upsert(session, AppState, ["key"], key="bot_username", value="renamed_bot")
            await session.commit()
            assert await session.scalar(select(AppState.value)) == "renamed_bot"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_racing_insert_once_has_exactly_one_winner(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(RACERS)]
    try:

        async def claim(n: int) -> bool:
            async with async_sessionmaker(engines[n])() as session:
                won = await insert_once(session, AppState, ["key"], key="daily", value=str(n))
                await session.commit()
                return won

        assert sorted(await asyncio.gather(*(claim(n) for n in range(RACERS)))) == [False] * (
            RACERS - 1
        ) + [True]
        async with async_sessionmaker(engines[0])() as session:
            assert await session.scalar(select(func.count()).select_from(AppState)) == 1
    finally:
        for engine in engines:
            await engine.dispose()
