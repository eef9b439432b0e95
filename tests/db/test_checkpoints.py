"""SQLite's write-ahead log is checkpointed in the background, not inside commits."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import checkpoints_in_background, make_engine

BLOB_BYTES = 40_000  # about ten pages
TRANSACTIONS = 150  # about 1,500 pages, 6 MB, in the log


async def _autocheckpoint(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one())


async def _write(engine: AsyncEngine) -> int:
    """Many small transactions; the largest the log file grew meanwhile, in bytes."""
    log_file = Path(str(engine.url.database) + "-wal")
    largest = 0
    for _ in range(TRANSACTIONS):
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO blobs (data) VALUES (:data)"), {"data": b"x" * BLOB_BYTES}
            )
        largest = max(largest, await asyncio.to_thread(os.path.getsize, log_file))
        await asyncio.sleep(0.005)
    return largest


async def test_the_log_is_checkpointed_in_the_background(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'log.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data)"))
        assert await _autocheckpoint(engine) == 1000  # SQLite's own, unless asked
        async with checkpoints_in_background(engine, every=0.02):
            assert await _autocheckpoint(engine) == 0  # no commit copies the log any more
            largest = await _write(engine)
    finally:
        await engine.dispose()
    # 6 MB went through the log. SQLite's own checkpoints would have let it reach 4 MB (1,000
    # pages) before starting again from its beginning, and with none it would hold all 6.
    assert largest < 2_000_000
