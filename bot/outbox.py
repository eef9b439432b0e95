"""The outbox sender: delivers queued messages in order per chat, retrying what can succeed
later and marking what never can.

Rows are written by services in the same transaction as their cause; this is the only place
that talks to the Bot API for them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    bindparam,
    exists,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from telegram import Bot
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBUserWarning

from bot.db.models import OutboxMessage
from bot.leases import Lease
from bot.loops import wait_for_any

log = logging.getLogger(__name__)

# PTB asks that send_message be used rather than do_api_request("send_message"); the sender
# uses the latter on purpose (see OutboxSender._call). pyproject.toml says the same to pytest.
warnings.filterwarnings(
    "ignore", r"Please use 'Bot\.send_message'", PTBUserWarning, module=__name__
)

PENDING, SENT, FAILED = "pending", "sent", "failed"
# Short enough that messages go soon after an outage ends.
MAX_BACKOFF = timedelta(seconds=60)
# Failed sends in a row, with none getting through for a second, taken as an outage.
OUTAGE_AFTER = 5
OUTAGE_SECONDS = 1.0
# How often a process that is not sending checks whether the sender has gone.
STANDBY_POLL_SECONDS = 2.0
# Tries to record a send's outcome while the database is away (about a minute in all).
RECORD_ATTEMPTS = 16
# How often, while sending, the sender looks for more.
CLAIM_INTERVAL_SECONDS = 0.05
# How far behind its schedule the pacer may catch up (see Pacer.wait_turn).
CATCH_UP_SECONDS = 0.25


def backoff(attempts: int) -> timedelta:
    """Exponential with jitter, so many waiting messages do not retry in one burst."""
    seconds = min(MAX_BACKOFF.total_seconds(), 0.5 * 2 ** min(attempts, 10))
    return timedelta(seconds=seconds * random.uniform(0.5, 1.0))  # noqa: S311 - not security


class Pacer:
    """Telegram's limits, kept by spacing sends rather than by waiting for 429s: at most
    `per_second` messages in any second overall, and one every `chat_interval` seconds per
    chat.

    Each caller reserves an evenly spaced slot before it sleeps, so callers never race for
    one. A last check when the caller wakes counts the sends still under way and those
    answered in the past second: Telegram counts a send somewhere between its start and its
    answer, so this keeps any second at Telegram's end within the limit, however late a
    busy process wakes or a slow answer comes.
    """

    def __init__(
        self,
        per_second: float | None,
        chat_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = int(per_second or 0)
        self._spacing = 1.0 / per_second if per_second else 0.0
        self._chat_interval = chat_interval if per_second else 0.0
        self._clock = clock
        self._next_slot = 0.0
        self._chat_free_at: dict[int, float] = {}
        self._answered: deque[float] = deque()  # when sends of the past second were answered
        self._under_way = 0
        self._urgent_waiting = 0

    async def wait_turn(self, chat_id: int, *, urgent: bool = False) -> None:
        """Wait until a message to `chat_id` may go. An urgent one (an answer to what
        someone just did) goes ahead of those already waiting for their slots (reminders):
        the check below still keeps every second within the limit."""
        if not self._spacing:
            return
        now = self._clock()
        # A caller late for the schedule (the process was busy) takes a slot that is already
        # past, up to a quarter of a second's worth, rather than pushing every later slot
        # back: that is what kept fan-outs at 92% of the rate. The check below still holds
        # every second at Telegram's end within the limit.
        overall = max(self._next_slot, now - CATCH_UP_SECONDS)
        self._next_slot = overall + self._spacing
        if urgent:
            overall = now
        slot = max(now, overall, self._chat_free_at.get(chat_id, 0.0))
        self._chat_free_at[chat_id] = slot + self._chat_interval
        if len(self._chat_free_at) > 10_000:
            self._forget_before(now)
        if slot > now:
            await asyncio.sleep(slot - now)
        # When the past second is full, sends late for their slots wait here together and
        # whichever wakes first takes the room that frees: urgent ones are let through first.
        self._urgent_waiting += urgent
        try:
            while True:
                now = self._clock()
                while self._answered and self._answered[0] <= now - 1.0:
                    self._answered.popleft()
                kept_for_urgent = 0 if urgent else self._urgent_waiting
                if self._under_way + len(self._answered) + kept_for_urgent < self.per_second:
                    break
                # Wait for the oldest answer to leave the second (or a send under way to end).
                await asyncio.sleep(self._answered[0] + 1.0 - now if self._answered else 0.01)
        finally:
            self._urgent_waiting -= urgent
        self._under_way += 1

    def finished(self, chat_id: int) -> None:
        """A send to the chat was answered (or failed): its next may go a full interval from
        now, so a slow answer never squeezes two sends into one interval at Telegram's end."""
        if self._spacing:
            now = self._clock()
            self._under_way -= 1
            self._answered.append(now)
            self._chat_free_at[chat_id] = max(
                self._chat_free_at.get(chat_id, 0.0), now + self._chat_interval
            )

    def _forget_before(self, now: float) -> None:
        self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row this sender holds a lease on."""

    id: int
    chat_id: int
    action: str
    text: str | None
    reply_markup: dict[str, Any] | None
    attempts: int
    bulk: bool


def _claim_statement(dialect: str) -> Any:
    now: BindParameter[datetime] = bindparam("now")
    # A literal, not a parameter, so that the index of waiting rows (partial, for 'pending')
    # may be used; `bulk <= bulk_too` keeps its walk to answers when only answers are wanted.
    pending: ColumnElement[str] = literal_column(f"'{PENDING}'")
    older = aliased(OutboxMessage)
    candidates = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == pending,
            OutboxMessage.bulk <= bindparam("bulk_too", type_=Boolean),
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
            ~exists().where(
                older.chat_id == OutboxMessage.chat_id,
                older.status == pending,
                older.id < OutboxMessage.id,
            ),
        )
        # Answers to what someone just did before reminders; each kind oldest first.
        .order_by(OutboxMessage.bulk, OutboxMessage.id)
        .limit(bindparam("limit"))
        # SQLite would take the (status, next_attempt_at) index and sort every waiting row, on
        # the event loop: 0.3 ms a claim with 500 waiting, 6 ms with a fan-out's 10,000. This
        # walk stops at `limit`: 0.05 ms however many wait.
        .with_hint(OutboxMessage, "INDEXED BY ix_outbox_pending", "sqlite")
    )
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True, of=OutboxMessage)
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates.scalar_subquery()))
        .values(lease_until=bindparam("lease_until"))
        .returning(
            OutboxMessage.id,
            OutboxMessage.chat_id,
            OutboxMessage.action,
            OutboxMessage.text,
            OutboxMessage.reply_markup,
            OutboxMessage.attempts,
            OutboxMessage.bulk,
        )
    )


# The sender claims after nearly every update it is woken for: built once per dialect, as
# building it each time cost more than running it.
_CLAIM = {dialect: _claim_statement(dialect) for dialect in ("sqlite", "postgresql")}
# Outcomes: an ORM bulk UPDATE by primary key, with each row's id and values.
_RECORD = update(OutboxMessage)


class OutboxSender:
    """Sends outbox rows, each at most once across any number of senders.

    A sender claims rows with a lease in one statement (`UPDATE ... RETURNING`; the rows
    chosen `FOR UPDATE SKIP LOCKED` on PostgreSQL, under SQLite's single write lock there),
    and only the oldest waiting row of each chat, so a chat's messages go out in order
    whichever sender takes them. A sender that dies loses its leases after `LEASE`.
    """

    LEASE = timedelta(seconds=60)

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bot: Bot,
        clock: Callable[[], datetime],
        *,
        pacer: Pacer | None = None,
        lease: Lease | None = None,
        in_flight: int | None = None,
        idle_poll_seconds: float = 1.0,
    ) -> None:
        self._sessions = session_factory
        self._bot = bot
        self._clock = clock
        self._pacer = pacer or Pacer(30)
        # With several bot processes, one sends at a time: Telegram's limits are per bot.
        self._lease = lease
        # Sends taken at once: paced, a quarter of a second's worth, so an answer queued now
        # waits behind little; unpaced, enough to keep the Bot API busy. Few either way, as
        # after a crash each one taken may go twice (see _take_over_leases).
        self._max_in_flight = in_flight or (
            max(4, self._pacer.per_second // 4) if self._pacer.per_second else 16
        )
        self._room_for_answers = max(2, self._max_in_flight // 2)
        self._idle_poll_seconds = idle_poll_seconds
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._waiting: set[asyncio.Task[Any]] = set()  # in flight, still waiting for a turn
        self._to_record: list[tuple[int, dict[str, Any], asyncio.Future[None]]] = []
        self._recording = False
        self._failures_in_a_row = 0
        self._last_success = 0.0  # time.monotonic()
        self._outage_rounds = 0  # while the Bot API seems down: pauses so far
        self._paused_until = 0.0  # time.monotonic()
        # Figures for /metrics.
        self.sent = 0
        self.failed = 0
        self.retried = 0
        self.taken_over = 0

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                self._wake.clear()
                paused_for = self._paused_until - time.monotonic()
                if paused_for > 0:
                    await wait_for_any(paused_for, stop)
                    continue
                if self._lease is not None:
                    was_sending = self._lease.holding
                    if not await self._lease.held():
                        await wait_for_any(STANDBY_POLL_SECONDS, stop)
                        continue
                    if not was_sending:
                        await self._take_over_leases()
                # During an outage, one message at a time finds out whether it is over. When
                # the sends taken fill the room (a fan-out), answers still go: a few more.
                room = 1 if self._outage_rounds else self._max_in_flight - len(self._in_flight)
                answers_only = room <= 0
                if answers_only:
                    room += self._room_for_answers
                try:
                    claimed = await self.claim(room, bulk_too=not answers_only)
                except Exception:
                    # A database hiccup must not end delivery: log it and try again shortly.
                    log.exception("outbox pass failed")
                    claimed = []
                for row in claimed:
                    task = asyncio.create_task(self._paced(row), name=f"outbox-{row.id}")
                    self._in_flight.add(task)
                    task.add_done_callback(self._sent_one)
                # While sends are under way, look again soon for the messages they unblock
                # (a chat's next), or when half have finished; not at every send, as each
                # look costs a query.
                busy = claimed or self._in_flight
                await wait_for_any(
                    CLAIM_INTERVAL_SECONDS if busy else self._idle_poll_seconds, self._wake, stop
                )
        finally:
            # Sends already under way finish; ones still waiting for their turn give their
            # rows back at once rather than when the lease runs out.
            for task in self._waiting:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)
            if self._lease is not None:
                await self._lease.release()

    def _sent_one(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if len(self._in_flight) == self._max_in_flight // 2:
            self._wake.set()

    async def _take_over_leases(self) -> None:
        """Just became the sender: rows another sender held are ours now.

        That sender stopped without finishing them (it crashed, or lost the database), so
        each was either never sent or sent without the result being recorded; Telegram
        cannot tell us which. They are sent (again): a repeat is better than a lost
        decision.
        """
        async with self._sessions() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == PENDING, OutboxMessage.lease_until.is_not(None))
                .values(lease_until=None)
            )
            await session.commit()
        if result.rowcount:  # type: ignore[attr-defined]
            self.taken_over += result.rowcount  # type: ignore[attr-defined]
            log.warning(
                "%d messages were being sent when the last sender stopped; sending them again",
                result.rowcount,  # type: ignore[attr-defined]
            )

    async def claim(self, limit: int, *, bulk_too: bool = True) -> list[Claimed]:
        """Lease up to `limit` due rows, each the oldest waiting row of its chat (without
        reminders and other bulk messages, unless `bulk_too`)."""
        if limit <= 0:
            return []
        now = self._clock()
        async with self._sessions() as session:
            connection = await session.connection()
            result = await connection.execute(
                _CLAIM[connection.dialect.name],
                {
                    "now": now,
                    "lease_until": now + self.LEASE,
                    "limit": limit,
                    "bulk_too": bulk_too,
                },
            )
            rows = sorted((Claimed(*row) for row in result.all()), key=lambda row: row.id)
            await session.commit()
        return rows

    async def _paced(self, row: Claimed) -> None:
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - always run as a task
        self._waiting.add(task)
        try:
            await self._pacer.wait_turn(row.chat_id, urgent=not row.bulk)
        except asyncio.CancelledError:
            await asyncio.shield(self._update(row.id, {"lease_until": None}))
            raise
        finally:
            self._waiting.discard(task)
        try:
            await self._deliver(row)
        except Exception:
            # The send's outcome could not be recorded (database down): the lease runs out
            # and the row is tried again.
            log.exception("outbox message %s: could not record the outcome", row.id)

    async def _deliver(self, row: Claimed) -> None:
        """Try one row and record the result."""
        try:
            try:
                message_id = await self._call(row)
            finally:
                self._pacer.finished(row.chat_id)
        except RetryAfter as error:
            delay = error.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            await self._reschedule(row, timedelta(seconds=seconds), f"429: {error.message}")
        except (InvalidToken, EndPointNotFound) as error:
            # The whole bot is refused (token revoked, proxy hiccup): keep the message.
            # (do_api_request reports that as EndPointNotFound once the bot is initialised.)
            log.error("Bot API refused our token; outbox message %s will wait", row.id)
            await self._reschedule(row, MAX_BACKOFF, f"401/404: {error.message}")
        except Forbidden as error:
            # Blocked by the user, kicked from a chat: retrying can never succeed.
            await self._finish(row, FAILED, error=f"403: {error.message}")
        except BadRequest as error:
            # Chat not found, or a message Telegram will never accept.
            await self._finish(row, FAILED, error=f"400: {error.message}")
        except TelegramError as error:
            # 5xx, timeouts, dropped connections: worth another go soon. When nothing gets
            # through, the Bot API is probably down: sending pauses, then tries one message at
            # a time until one goes, and the rest follow at once, in order.
            self._failures_in_a_row += 1
            now = time.monotonic()
            # Failures come back faster than answers, so a burst of sends can end in a run of
            # failures while the Bot API is fine: it is an outage only if nothing got
            # through for a while too.
            if self._failures_in_a_row < OUTAGE_AFTER or now - self._last_success < OUTAGE_SECONDS:
                delay = backoff(row.attempts + 1)
            else:
                if now >= self._paused_until:
                    self._outage_rounds += 1
                    pause = backoff(self._outage_rounds).total_seconds()
                    self._paused_until = now + pause
                    log.warning("the Bot API seems down; sending again in %.0f s", pause)
                delay = timedelta(0)
            await self._reschedule(row, delay, f"{type(error).__name__}: {error}")
        else:
            self._failures_in_a_row = self._outage_rounds = 0
            self._last_success = time.monotonic()
            await self._finish(row, SENT, message_id=message_id)

    async def _call(self, row: Claimed) -> int | None:
        if row.action == "leave_chat":
            await self._bot.leave_chat(row.chat_id)
            return None
        # The Bot API's JSON both ways: the keyboard goes as stored, and the answer is read
        # as it comes. Building PTB objects for them (a keyboard only to turn it back into
        # JSON, a Message only to read its id) cost a fifth of the sender's time.
        fields: dict[str, Any] = {
            "chat_id": row.chat_id,
            "text": row.text or "",
            "protect_content": True,
        }
        if row.reply_markup:
            fields["reply_markup"] = json.dumps(row.reply_markup)
        message = await self._bot.do_api_request("send_message", api_kwargs=fields)
        return int(message["message_id"])

    async def _finish(
        self,
        row: Claimed,
        status: str,
        *,
        message_id: int | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "attempts": row.attempts + 1,
            "lease_until": None,
        }
        if status == SENT:
            values.update(sent_at=self._clock(), telegram_message_id=message_id)
            self.sent += 1
        else:
            values["last_error"] = (error or "")[:500]
            log.warning("outbox message %s failed for good: %s", row.id, error)
            self.failed += 1
        await self._update(row.id, values)

    async def _reschedule(self, row: Claimed, delay: timedelta, error: str) -> None:
        self.retried += 1
        await self._update(
            row.id,
            {
                "attempts": row.attempts + 1,
                "next_attempt_at": self._clock() + delay,
                "lease_until": None,
                "last_error": error[:500],
            },
        )

    async def _update(self, row_id: int, values: dict[str, Any]) -> None:
        """Record a send's outcome, in one transaction with the others that arrive while
        one is being written (a group commit: SQLite takes one write at a time)."""
        done = asyncio.get_running_loop().create_future()
        self._to_record.append((row_id, values, done))
        if not self._recording:
            self._recording = True
            try:
                # On SQLite statements run on the event loop without pausing, so let the
                # sends answered at the same moment join this batch first.
                await asyncio.sleep(0)
                while self._to_record:
                    batch, self._to_record = self._to_record, []
                    try:
                        await self._write(batch)
                    except Exception as error:
                        for *_, future in batch:
                            future.set_exception(error)
                    else:
                        for *_, future in batch:
                            future.set_result(None)
            finally:
                self._recording = False
        await done

    async def _write(self, batch: list[tuple[int, dict[str, Any], asyncio.Future[None]]]) -> None:
        """The message went (or not); if the database is away for a moment (a restart),
        keep trying rather than let the lease run out and the message go twice."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                async with self._sessions() as session:
                    # One statement for each kind of outcome (sent, failed, rescheduled).
                    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                    for row_id, values, _ in batch:
                        by_columns.setdefault(tuple(values), []).append({"id": row_id, **values})
                    for rows in by_columns.values():
                        await session.execute(_RECORD, rows)
                    await session.commit()
                return
            except (DBAPIError, OSError):
                if attempt == RECORD_ATTEMPTS - 1:
                    raise
                log.warning("outbox: database unavailable, recording %d outcomes again", len(batch))
                await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
