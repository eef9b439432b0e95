"""Intake: no update is acknowledged before it is safe, handled or stored.

- Polling: python-telegram-bot acknowledges a batch by asking for the next one.
  `StoringUpdatesRequest` holds that request back a moment (`SETTLE`) while the batch is
  being handled; whatever is still unhandled then is stored before the request goes. A
  handled update needs no storing: its claim committed with its effects. So a man alone
  costs no write before his update is handled, and a busy batch costs one.
- Webhook: the handler stores the update before it answers 200.

`IntakeApplication` tells the intake how each update's handling went: a failure is stored
to be tried again (a database outage, say), and a stored update that was handled is marked
so, with others. `Intake.run_retries` feeds back updates that a failure or a crash left
unhandled. Handling is idempotent (a turn's answer, or the service itself, claims the update
id in the turn's own transaction), so an update tried twice changes things once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import NetworkError
from telegram.ext import Application, BaseUpdateProcessor

from bot.db import intake as table
from bot.http import AiohttpRequest
from bot.loops import wait_for_any
from bot.outbox import backoff
from bot.services.context import ServiceContext

log = logging.getLogger(__name__)

# How long the process that received an update has it before any process may retry it.
HOLD = timedelta(seconds=30)
# How long acknowledging a batch waits for its updates to be handled before storing the rest.
# Most single updates take a few milliseconds; a busy batch waits its full time, while the
# updates already taken are handled, and is then stored in one statement.
SETTLE = 0.02
# How long stored updates that were handled gather before they are marked in one statement.
GATHER = 0.5
MARK_AT_ONCE = 500


class Intake:
    def __init__(
        self, ctx: ServiceContext, *, hold: timedelta = HOLD, settle: float | None = None
    ) -> None:
        self._ctx = ctx
        self._hold = hold
        self._settle = settle  # None: the module's SETTLE, read each time
        # Stored by this process and not yet handled (queued behind others, say): a retry
        # must not queue them a second time.
        self._ours: set[int] = set()
        # Taken from getUpdates and neither handled nor stored yet: they must be one or the
        # other before they are acknowledged.
        self._unsafe: dict[int, dict[str, Any]] = {}
        self._all_safe = asyncio.Event()
        self._all_safe.set()
        # Held while unsafe updates are stored, so that an outcome waits for that to land.
        self._storing = asyncio.Lock()
        # Stored ones handled since the last `mark_handled`.
        self._to_mark: set[int] = set()
        self._marks_waiting = asyncio.Event()
        # Unsafe ones whose handling failed and could not be stored then (the database was
        # down): stored before the acknowledgement, for any retry to take.
        self._dropped: set[int] = set()
        # Figures for /metrics.
        self.handled = 0
        self.failed = 0

    async def store(self, payloads: list[dict[str, Any]]) -> None:
        async with self._ctx.uow() as session:
            await table.store_updates(session, payloads, self._ctx.now(), self._hold)
            await session.commit()
        self._ours.update(payload["update_id"] for payload in payloads)

    def received(self, payloads: list[dict[str, Any]]) -> None:
        """getUpdates handed these over: unsafe until handled or stored."""
        for payload in payloads:
            self._unsafe[payload["update_id"]] = payload
        if self._unsafe:
            self._all_safe.clear()

    def _safe(self, update_id: int) -> None:
        self._unsafe.pop(update_id, None)
        if not self._unsafe:
            self._all_safe.set()

    async def make_safe(self) -> None:
        """Before a batch is acknowledged: give its updates `settle` seconds to be handled,
        then store the rest. Raises when they cannot be stored (so nothing is acknowledged)."""
        if not self._unsafe:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self._all_safe.wait(), SETTLE if self._settle is None else self._settle
            )
        async with self._storing:
            payloads = list(self._unsafe.values())
            if payloads:
                await self.store(payloads)
                # Ours only while still being handled here.
                done = {p["update_id"] for p in payloads if p["update_id"] not in self._unsafe}
                self._ours -= done | self._dropped
                self._dropped.clear()
                for payload in payloads:
                    self._safe(payload["update_id"])

    async def finished(self, update_id: int, error: BaseException | None) -> None:
        """Record how handling went; never raises (a retry will sort out a failure here)."""
        try:
            if error is None:
                # Stored (or being stored right now): marked handled later, with others.
                # One never stored needs nothing: its claim is its record. No waiting
                # here: the update's turn holds one of the places for handling updates.
                if update_id not in self._unsafe or self._storing.locked():
                    self._to_mark.add(update_id)
                    self._marks_waiting.set()
                self._safe(update_id)
            else:
                # If it is being stored right now, that must land before we look.
                async with self._storing:
                    await self._record_failure(update_id, self._unsafe.get(update_id), error)
                    self._safe(update_id)
        except Exception:
            log.exception(
                "could not record the outcome of update %s; it will be retried", update_id
            )
            if update_id in self._unsafe:
                self._dropped.add(update_id)
        finally:
            self._ours.discard(update_id)
        if error is None:
            self.handled += 1
        else:
            self.failed += 1

    async def _record_failure(
        self, update_id: int, unstored: dict[str, Any] | None, error: BaseException
    ) -> None:
        now = self._ctx.now()
        async with self._ctx.uow() as session:
            if unstored is not None:  # failed before it was ever stored: store it to retry
                await table.store_failed(session, unstored, now, backoff(1), repr(error))
            else:
                row = await session.get(table.InboundUpdate, update_id)
                attempts = row.attempts + 1 if row is not None else 1
                await table.retry_later(session, update_id, now, backoff(attempts), repr(error))
            await session.commit()

    async def mark_handled(self) -> None:
        """Mark the stored updates handled since the last call, in one statement. Until then
        a retry of one finds its claim and does nothing, so this can wait."""
        while self._to_mark:
            update_ids = sorted(self._to_mark)[:MARK_AT_ONCE]
            async with self._ctx.uow() as session:
                await table.mark_handled(session, update_ids, self._ctx.now())
                await session.commit()
            self._to_mark.difference_update(update_ids)

    async def take_due(self, *, everything: bool = False) -> list[dict[str, Any]]:
        """Unhandled updates to try again; `everything` also takes those still held (at a
        polling start, when no other process can be handling them). Taking them holds them
        again, which also keeps ours that are still queued here from other processes."""
        now = self._ctx.now()
        async with self._ctx.uow() as session:
            payloads = await table.take_due(
                session, now + self._hold if everything else now, self._hold, limit=500
            )
            await session.commit()
        return [payload for payload in payloads if payload["update_id"] not in self._ours]

    async def run_retries(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        stop: asyncio.Event,
        *,
        everything_first: bool = False,
        every: float = 5.0,
    ) -> None:
        everything = everything_first
        while not stop.is_set():
            try:
                await self.mark_handled()
                payloads = await self.take_due(everything=everything)
                everything = False
                for payload in payloads:
                    self._ours.add(payload["update_id"])
                    await application.update_queue.put(Update.de_json(payload, application.bot))
                if payloads:
                    log.info("retrying %d stored updates", len(payloads))
                    continue
            except Exception:
                log.exception("could not look for stored updates; will try again")
            await wait_for_any(every, stop, self._marks_waiting)
            self._marks_waiting.clear()
            await wait_for_any(GATHER, stop)
        try:
            await self.mark_handled()
        except Exception:
            log.exception("could not mark stored updates handled; a retry will find them done")


class StoringUpdatesRequest(AiohttpRequest):
    """The getUpdates connection: makes the last batch safe before asking for the next.

    python-telegram-bot acknowledges a batch by asking for the next one. When the last
    batch cannot be stored, that request is not sent (PTB tries it again), so Telegram
    keeps offering the batch.
    """

    def __init__(self, intake: Intake, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._intake = intake

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            await self._intake.make_safe()
        except Exception as error:
            log.exception("could not store updates; not acknowledging them yet")
            raise NetworkError("could not store updates") from error
        status, body = await super().do_request(*args, **kwargs)
        if status == 200:
            try:
                data = json.loads(body)
            except ValueError:
                return status, body  # PTB cannot read it either, and asks again
            updates = data.get("result") if data.get("ok") else None
            if updates:
                self._intake.received(updates)
        return status, body


class IntakeApplication(Application):
    """The PTB application, telling the intake how each update's handling went."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.intake: Intake | None = None
        self._failures: dict[int, Exception] = {}

    async def process_update(self, update: object) -> None:
        await super().process_update(update)
        if self.intake is not None and isinstance(update, Update):
            error = self._failures.pop(update.update_id, None)
            await self.intake.finished(update.update_id, error)

    async def process_error(
        self, update: object | None, error: Exception, *args: Any, **kwargs: Any
    ) -> bool:
        # Handlers' failures come here first; remember them for process_update.
        if isinstance(update, Update):
            self._failures[update.update_id] = error
        return await super().process_error(update, error, *args, **kwargs)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Handles updates from different chats at once, and each chat's one at a time, in the
    order they came: while one man's update waits on the database, another's can run, but
    his button press is never handled before the message it answers."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._last: dict[int | None, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = _chat_of(update)
        # PTB calls this in arrival order (its semaphore is first come, first served), and
        # nothing above awaits, so each update is chained behind the one before it.
        before = self._last.get(chat)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last[chat] = done
        try:
            if before is not None:
                await asyncio.wait({before})  # not `await before`: a cancel must not spread
            await coroutine
        finally:
            done.set_result(None)
            if self._last.get(chat) is done:
                del self._last[chat]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _chat_of(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None
