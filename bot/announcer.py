"""Tells staff of complaints sent or escalated, a moment after, off the participant's turn.

His turn only marks the complaint (`Complaint.staff_to_tell`); this loop finds who may see
it and queues their neutral notices, so sending a complaint does not wait on that.
"""

from __future__ import annotations

import asyncio
import logging

from bot.loops import wait_for_any
from bot.services import complaints
from bot.services.context import ServiceContext

log = logging.getLogger(__name__)


class StaffAnnouncer:
    def __init__(
        self, ctx: ServiceContext, *, gather_seconds: float = 0.2, idle_seconds: float = 30.0
    ) -> None:
        self._ctx = ctx
        # A busy moment's complaints are told together.
        self._gather_seconds = gather_seconds
        # Also looks now and then, for ones another process or the command line marked.
        self._idle_seconds = idle_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                while await complaints.tell_staff(self._ctx) == complaints.TELL_AT_ONCE:
                    pass  # a full batch: there may be more
            except Exception:  # the loop must outlive a database hiccup
                log.exception("telling staff of new complaints failed; will retry")
            await wait_for_any(self._idle_seconds, self._wake, stop)
            await wait_for_any(self._gather_seconds, stop)
