"""Intake: every update is in the database before Telegram is told we have it.

- Polling: getUpdates answers pass through `StoringUpdatesRequest`, which stores them before
  python-telegram-bot asks for the next batch (the request that acknowledges this one).
- Webhook: the handler stores the update before it answers 200.

`IntakeApplication` marks each update handled, or due for another try when a handler failed
(a database outage, say). `Intake.run_retries` feeds back updates that a failure or a crash
left unhandled. Handling is idempotent (the services claim the update id in their own
transaction), so an update tried twice changes things once.
"""

from __future__ import annotations

import asyncio
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


class Intake:
    def __init__(self, ctx: ServiceContext, *, hold: timedelta = HOLD) -> None:
        self._ctx = ctx
        self._hold = hold
        # Stored by this process and not yet handled (queued behind others, say): a retry
        # must not queue them a second time.
        self._ours: set[int] = set()
        # Figures for /metrics.
        self.handled = 0
        self.failed = 0

    async def store(self, payloads: list[dict[str, Any]]) -> None:
        async with self._ctx.uow() as session:
            await table.store_updates(session, payloads, self._ctx.now(), self._hold)
            await session.commit()
        self._ours.update(payload["update_id"] for payload in payloads)

    async def finished(self, update_id: int, error: BaseException | None) -> None:
        """Record how handling went; never raises (a retry will sort out a failure here)."""
        try:
            async with self._ctx.uow() as session:
                if error is not None:
                    row = await session.get(table.InboundUpdate, update_id)
                    attempts = row.attempts + 1 if row is not None else 1
                    await table.retry_later(
                        session, update_id, self._ctx.now(), backoff(attempts), repr(error)
                    )
                elif update_id in self._ctx.handled_updates:
                    return  # the service marked it in its own transaction
                else:
                    await table.mark_handled(session, update_id, self._ctx.now())
                await session.commit()
        except Exception:
            log.exception(
                "could not record the outcome of update %s; it will be retried", update_id
            )
        finally:
            self._ctx.handled_updates.discard(update_id)
            self._ours.discard(update_id)
        if error is None:
            self.handled += 1
        else:
            self.failed += 1

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
            await wait_for_any(every, stop)


class StoringUpdatesRequest(AiohttpRequest):
    """The getUpdates connection: stores each batch before handing it over.

    python-telegram-bot acknowledges a batch by asking for the next one, which it does only
    after this returns; if storing fails, it retries the same batch.
    """

    def __init__(self, intake: Intake, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._intake = intake

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        status, body = await super().do_request(*args, **kwargs)
        if status == 200:
            try:
                data = json.loads(body)
                updates = data.get("result") if data.get("ok") else None
                if updates:
                    await self._intake.store(updates)
            except Exception as error:
                log.exception("could not store updates; asking for them again")
                raise NetworkError("could not store updates") from error
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
