"""The bot keeps open as many database connections as it uses at once.

Had it closed the ones beyond SQLAlchemy's default five as they came back, every busy
moment would open new ones: on SQLite the schema is read and each statement prepared again,
on PostgreSQL a server process starts. Under load that cost up to a sixth of the bot's
throughput on SQLite and a fifth on PostgreSQL (bench/README.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bot.app import build_core
from tests.conftest import make_settings


async def test_a_busy_moment_opens_connections_once_and_keeps_them(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, concurrent_updates=8)
    core = build_core(settings)
    opened = 0

    def count(*_args: Any) -> None:
        nonlocal opened
        opened += 1

    event.listen(core.engine.sync_engine, "connect", count)
    at_once = settings.concurrent_updates + 2  # every update handled, the sender, the intake

    async def hold_a_connection(all_held: asyncio.Barrier, release: asyncio.Event) -> None:
        async with core.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            await all_held.wait()
            await release.wait()

    async def busy_moment() -> None:
        all_held, release = asyncio.Barrier(at_once + 1), asyncio.Event()
        holders = [
            asyncio.create_task(hold_a_connection(all_held, release)) for _ in range(at_once)
        ]
        async with asyncio.timeout(10):
            await all_held.wait()
        release.set()
        await asyncio.gather(*holders)

    try:
        await busy_moment()
        assert opened == at_once
        for _ in range(3):
            await busy_moment()
        assert opened == at_once, "connections were closed and opened again"
    finally:
        await core.close()
