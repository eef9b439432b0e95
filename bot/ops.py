"""Operations endpoints: /healthz (the process answers), /readyz (it can do its work: the
database answers and the bot is running) and /metrics (Prometheus).

/metrics carries no personal data, only counts, but it is served on its own listener
(`COMPANION_OPS_LISTEN`) that nginx does not expose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from bot.db.models import InboundUpdate, OutboxMessage
from bot.services import queue
from bot.services.context import ServiceContext

log = logging.getLogger(__name__)


@dataclass
class ProcessFigures:
    """Counters kept in memory by this process's loops (they start at 0 on each start)."""

    updates_handled: Callable[[], int] = lambda: 0
    updates_failed: Callable[[], int] = lambda: 0
    messages_sent: Callable[[], int] = lambda: 0
    sends_failed: Callable[[], int] = lambda: 0
    sends_retried: Callable[[], int] = lambda: 0
    running: Callable[[], bool] = lambda: True


@dataclass(frozen=True)
class DatabaseFigures:
    updates_waiting: int
    outbox_depth: int
    outbox_oldest_age_seconds: float
    outbox_failed: int
    queue_overdue: int


async def database_figures(ctx: ServiceContext) -> DatabaseFigures:
    now = ctx.now()
    async with ctx.uow() as session:
        waiting = await session.scalar(
            select(func.count())
            .select_from(InboundUpdate)
            .where(InboundUpdate.processed_at.is_(None))
        )
        depth, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status == "pending"
                )
            )
        ).one()
        failed = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")
        )
    return DatabaseFigures(
        updates_waiting=int(waiting or 0),
        outbox_depth=int(depth or 0),
        outbox_oldest_age_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        outbox_failed=int(failed or 0),
        queue_overdue=await queue.overdue_count(ctx),
    )


class _Snapshot(Collector):
    def __init__(self, process: ProcessFigures, db: DatabaseFigures) -> None:
        self._process = process
        self._db = db

    def collect(self) -> Iterator[Metric]:
        p, db = self._process, self._db
        for name, doc, value in (
            ("companion_updates_handled", "Updates handled by this process.", p.updates_handled),
            (
                "companion_updates_failed",
                "Updates whose handling failed (to retry).",
                p.updates_failed,
            ),
            ("companion_messages_sent", "Messages this process sent.", p.messages_sent),
            ("companion_send_failures", "Sends that failed for good (403, 400).", p.sends_failed),
            ("companion_send_retries", "Sends to try again (429, 5xx, timeouts).", p.sends_retried),
        ):
            yield CounterMetricFamily(name, doc, value=value())
        for name, doc, number in (
            ("companion_updates_waiting", "Stored updates not handled yet.", db.updates_waiting),
            ("companion_outbox_depth", "Messages waiting to be sent.", db.outbox_depth),
            (
                "companion_outbox_oldest_age_seconds",
                "Age of the oldest message waiting to be sent.",
                db.outbox_oldest_age_seconds,
            ),
            (
                "companion_outbox_failed",
                "Messages that could never be delivered.",
                db.outbox_failed,
            ),
            (
                "companion_queue_items_overdue",
                "Staff queue items past a deadline.",
                db.queue_overdue,
            ),
        ):
            yield GaugeMetricFamily(name, doc, value=number)


async def database_ready(ctx: ServiceContext) -> bool:
    try:
        async with ctx.uow() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        return False
    return True


def add_health_routes(app: web.Application, ctx: ServiceContext, process: ProcessFigures) -> None:
    """/healthz and /readyz, for a load balancer or systemd watchdog."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_request: web.Request) -> web.Response:
        if not process.running():
            return web.Response(status=503, text="starting or stopping")
        if not await database_ready(ctx):
            return web.Response(status=503, text="database unavailable")
        return web.Response(text="ready")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def ops_app(ctx: ServiceContext, process: ProcessFigures) -> web.Application:
    """Health, readiness and metrics on their own (internal) listener."""

    async def metrics(_request: web.Request) -> web.Response:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Snapshot(process, await database_figures(ctx)))
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    add_health_routes(app, ctx, process)
    app.router.add_get("/metrics", metrics)
    return app
