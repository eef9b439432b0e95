"""The sender's claim walks the index of waiting rows in its own order on SQLite, so its cost
does not grow with the number waiting (a fan-out queues 10,000 at once)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.dialects import sqlite

from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.outbox import _CLAIM


async def test_the_claim_uses_the_index_of_waiting_rows_and_sorts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plan.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
        now = datetime(2027, 1, 7, tzinfo=UTC)
        async with engine.begin() as connection:  # it runs as written
            result = await connection.execute(
                _CLAIM["sqlite"], {"now": now, "lease_until": now, "limit": 8, "bulk_too": True}
            )
            assert result.all() == []
    finally:
        await engine.dispose()
    compiled = _CLAIM["sqlite"].compile(dialect=sqlite.dialect())
    values = {"now": "2027-01-07", "lease_until": "2027-01-07", "limit": 8, "bulk_too": 1}
    with sqlite3.connect(path) as database:
        rows = database.execute(
            f"EXPLAIN QUERY PLAN {compiled}",
            [values.get(name, 0) for name in compiled.positiontup or ()],
        ).fetchall()
    plan = " | ".join(row[3] for row in rows)
    assert "USING INDEX ix_outbox_pending" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
