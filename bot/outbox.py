"""The outbox sender: delivers queued messages in order per chat, retrying what can succeed
later and marking what never can.

Rows are written by services in the same transaction as their cause; this is the only place
that talks to the Bot API for them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.db.models import OutboxMessage
from bot.loops import wait_for_any

log = logging.getLogger(__name__)

PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_BACKOFF = timedelta(minutes=5)


def reply_markup_from_json(
    data: dict[str, Any] | None,
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    if data is None:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.de_json(data, None)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.de_json(data, None)
    return ReplyKeyboardRemove.de_json(data, None)


def backoff(attempts: int) -> timedelta:
    """Exponential with jitter, so many waiting messages do not retry in one burst."""
    seconds = min(MAX_BACKOFF.total_seconds(), 2 ** min(attempts, 10))
    return timedelta(seconds=seconds * random.uniform(0.5, 1.0))  # noqa: S311 - not security


class OutboxSender:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bot: Bot,
        clock: Callable[[], datetime],
        *,
        batch_size: int = 100,
        concurrency: int = 16,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self._sessions = session_factory
        self._bot = bot
        self._clock = clock
        self._batch_size = batch_size
        self._concurrency = asyncio.Semaphore(concurrency)
        self._idle_poll_seconds = idle_poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                sent = await self.send_due()
            except Exception:
                # A database hiccup must not end delivery: log it and try again shortly.
                log.exception("outbox pass failed")
                sent = 0
            if sent:
                continue
            await wait_for_any(self._idle_poll_seconds, self._wake, stop)

    async def send_due(self) -> int:
        """One pass: send every due message whose chat has nothing older still waiting."""
        now = self._clock()
        async with self._sessions() as session:
            rows = list(
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.status == PENDING)
                    .order_by(OutboxMessage.id)
                    .limit(self._batch_size)
                )
            )
        by_chat: dict[int, list[OutboxMessage]] = {}
        for row in rows:
            by_chat.setdefault(row.chat_id, []).append(row)
        results = await asyncio.gather(
            *(self._send_chat(chat_rows, now) for chat_rows in by_chat.values())
        )
        return sum(results)

    async def _send_chat(self, rows: list[OutboxMessage], now: datetime) -> int:
        """Send one chat's rows in order, stopping at the first that must wait."""
        sent = 0
        for row in rows:
            if row.next_attempt_at > now:
                break
            async with self._concurrency:
                delivered = await self._deliver(row)
            if not delivered:
                break
            sent += 1
        return sent

    async def _deliver(self, row: OutboxMessage) -> bool:
        """Try one row; record the result. True when the chat may move on to its next row."""
        try:
            message_id = await self._call(row)
        except RetryAfter as error:
            delay = error.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            await self._reschedule(row, timedelta(seconds=seconds), f"429: {error.message}")
            return False
        except InvalidToken as error:
            # The whole bot is refused (token revoked, proxy hiccup): keep the message.
            log.error("Bot API refused our token; outbox message %s will wait", row.id)
            await self._reschedule(row, MAX_BACKOFF, f"401/404: {error.message}")
            return False
        except Forbidden as error:
            # Blocked by the user, kicked from a chat: retrying can never succeed.
            await self._finish(row, FAILED, error=f"403: {error.message}")
            return True
        except BadRequest as error:
            # Chat not found, or a message Telegram will never accept.
            await self._finish(row, FAILED, error=f"400: {error.message}")
            return True
        except TelegramError as error:
            # 5xx, timeouts, dropped connections: worth another go later.
            await self._reschedule(
                row, backoff(row.attempts + 1), f"{type(error).__name__}: {error}"
            )
            return False
        await self._finish(row, SENT, message_id=message_id)
        return True

    async def _call(self, row: OutboxMessage) -> int | None:
        if row.action == "leave_chat":
            await self._bot.leave_chat(row.chat_id)
            return None
        message = await self._bot.send_message(
            row.chat_id,
            row.text or "",
            reply_markup=reply_markup_from_json(row.reply_markup),
            protect_content=True,
        )
        return message.message_id

    async def _finish(
        self,
        row: OutboxMessage,
        status: str,
        *,
        message_id: int | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "attempts": row.attempts + 1}
        if status == SENT:
            values.update(sent_at=self._clock(), telegram_message_id=message_id)
        else:
            values["last_error"] = (error or "")[:500]
            log.warning("outbox message %s failed for good: %s", row.id, error)
        await self._update(row.id, values)

    async def _reschedule(self, row: OutboxMessage, delay: timedelta, error: str) -> None:
        await self._update(
            row.id,
            {
                "attempts": row.attempts + 1,
                "next_attempt_at": self._clock() + delay,
                "last_error": error[:500],
            },
        )

    async def _update(self, row_id: int, values: dict[str, Any]) -> None:
        async with self._sessions() as session:
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
            )
            await session.commit()
