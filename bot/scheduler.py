"""Runs the periodic jobs (reminders, the daily overdue notice, housekeeping) in the bot
process.

Jobs only write outbox rows; the sender delivers them. Each job is safe to run at the same
time in several processes: reminders are claimed by a unique key.
"""

from __future__ import annotations

import asyncio
import logging

from bot.loops import wait_for_any
from bot.services import retention
from bot.services.complaint_review import queue_overdue_notices
from bot.services.context import ServiceContext
from bot.services.reminders import queue_due_reminders

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, ctx: ServiceContext, *, interval_seconds: float = 60.0) -> None:
        self._ctx = ctx
        self._interval = interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                queued = await queue_due_reminders(self._ctx)
                if queued:
                    log.info("queued %d reminders", queued)
                await queue_overdue_notices(self._ctx)
                await retention.prune(self._ctx)
            except Exception:  # a database hiccup must not end the reminders
                log.exception("reminder pass failed; will retry")
            await wait_for_any(self._interval, stop)
