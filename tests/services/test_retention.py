"""Housekeeping removes only what has expired."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.db.models import InboundUpdate, SignInAttempt, WebSession
from bot.services import retention
from bot.services.context import ServiceContext
from tests.conftest import FakeClock


async def _count(services: ServiceContext, model: type) -> int:
    async with services.uow() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_prune_keeps_live_rows(services: ServiceContext, clock: FakeClock) -> None:
    now = clock.now
    async with services.uow() as session:
        session.add_all(
            [
                InboundUpdate(update_id=1, processed_at=now - timedelta(days=8)),
                InboundUpdate(update_id=2, processed_at=now - timedelta(hours=1)),
                # Not handled yet: kept however old, until it is.
                InboundUpdate(
                    update_id=3, payload={"update_id": 3}, received_at=now - timedelta(days=9)
                ),
                SignInAttempt(email="a", address="x", at=now - timedelta(days=8), succeeded=False),
                SignInAttempt(email="a", address="x", at=now, succeeded=False),
                WebSession(
                    id_hash="old",
                    csrf_token="t",
                    created_at=now - timedelta(hours=1),
                    last_seen_at=now - timedelta(hours=1),
                ),
                WebSession(
                    id_hash="ended", csrf_token="t", created_at=now, last_seen_at=now, ended_at=now
                ),
                WebSession(id_hash="live", csrf_token="t", created_at=now, last_seen_at=now),
            ]
        )
        await session.commit()
    assert await retention.prune(services) == 4
    assert await _count(services, InboundUpdate) == 2
    assert await _count(services, SignInAttempt) == 1
    assert await _count(services, WebSession) == 1
