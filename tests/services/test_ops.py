"""/healthz, /readyz and /metrics report what is in the database, and only counts."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.db.models import InboundUpdate, OutboxMessage
from bot.ops import ProcessFigures, ops_app
from bot.services.context import ServiceContext
from tests.conftest import FakeClock


async def test_metrics_count_what_waits_and_what_failed(
    services: ServiceContext, clock: FakeClock
) -> None:
    now = clock.now
    async with services.uow() as session:
        session.add_all(
            [
                OutboxMessage(
                    chat_id=1, text="a", status="pending", created_at=now - timedelta(minutes=3)
                ),
                OutboxMessage(chat_id=2, text="b", status="pending", created_at=now),
                OutboxMessage(chat_id=3, text="c", status="failed", created_at=now),
                OutboxMessage(chat_id=4, text="d", status="sent", created_at=now),
                InboundUpdate(update_id=7, payload={"update_id": 7}, received_at=now),
                InboundUpdate(update_id=8, payload=None, received_at=now, processed_at=now),
            ]
        )
        await session.commit()
    running = [True]
    figures = ProcessFigures(updates_handled=lambda: 12, running=lambda: running[0])
    async with TestClient(TestServer(ops_app(services, figures))) as client:
        metrics = await client.get("/metrics")
        assert metrics.status == 200
        values = {
            sample.name: sample.value
            for family in text_string_to_metric_families(await metrics.text())
            for sample in family.samples
        }
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status == 200
        running[0] = False
        assert (await client.get("/readyz")).status == 503
    assert values["companion_outbox_depth"] == 2
    assert values["companion_outbox_oldest_age_seconds"] == 180
    assert values["companion_outbox_failed"] == 1
    assert values["companion_updates_waiting"] == 1
    assert values["companion_updates_handled_total"] == 12
    assert values["companion_queue_items_overdue"] == 0
