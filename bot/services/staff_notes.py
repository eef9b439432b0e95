"""Internal notes on an item, and whether messages to him arrive: one staff sent him, and
those that have stopped reaching him (he blocked the bot, his account is gone).

Notes are for colleagues only: nothing here is ever sent to the participant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from bot.db.models import OutboxMessage, StaffNote, TelegramLink
from bot.domain.errors import InvalidInput

MAX_NOTE = 2000
# Why a message failed for good (the sender keeps Telegram's words in `last_error`).
BLOCKED, REFUSED = "blocked", "refused"


@dataclass(frozen=True, slots=True)
class NoteView:
    author: str
    text: str
    at: datetime  # local time


def add(session: AsyncSession, staff_id: int, subject: str, text: str, at: datetime) -> None:
    text = text.strip()
    if not text:
        raise InvalidInput("The note is empty.")
    if len(text) > MAX_NOTE:
        raise InvalidInput("The note is too long: at most {most} characters.", most=MAX_NOTE)
    session.add(StaffNote(subject=subject, staff_id=staff_id, text=text, at=at))


async def notes_on(session: AsyncSession, subject: str, zone: ZoneInfo) -> list[NoteView]:
    notes = await session.scalars(
        select(StaffNote)
        .where(StaffNote.subject == subject)
        .order_by(StaffNote.id)
        .options(selectinload(StaffNote.staff))
    )
    return [NoteView(n.staff.name, n.text, n.at.astimezone(zone)) for n in notes]


async def delivery(session: AsyncSession, outbox_id: int | None) -> str | None:
    """ "queued", "sent", or why it failed, in words staff can act on."""
    if outbox_id is None:
        return None
    message = await session.get(OutboxMessage, outbox_id)
    if message is None:
        return None
    if message.status == "failed":
        if why_failed(message.last_error) == BLOCKED:
            return "failed: participant has blocked the bot"
        return "failed: Telegram would not take it"
    if message.status == "cancelled":
        return "not sent: his phone was unlinked"
    return {"pending": "queued", "sent": "sent"}.get(message.status, message.status)


def why_failed(last_error: str | None) -> str:
    """BLOCKED (403: he blocked the bot) or REFUSED (anything else Telegram will never take:
    a chat not found, a deleted account)."""
    return BLOCKED if "blocked" in (last_error or "") else REFUSED


@dataclass(frozen=True, slots=True)
class Undelivered:
    """Messages to him that failed for good since the last one that reached him."""

    count: int
    last_at: datetime  # local time the last of them was tried
    why: str  # the last one's: BLOCKED or REFUSED


def not_reaching(participant_id: SQLColumnExpression[int] | int) -> ColumnElement[bool]:
    """Outbox rows to him (`participant_id` may be a column, for a list of people) that failed
    after the last message that reached him: once one gets through, the trouble is over.

    Only rows written for him (`participant_id`), to the chats he has ever linked: a chat
    that once spoke for someone else never shows that person's failures. The chats are
    there for the (chat_id, status) index; the outbox has none on participant_id.
    """
    # Correlated by hand: auto-correlation would not reach the list's participants from here.
    chats = (
        select(TelegramLink.chat_id)
        .where(TelegramLink.participant_id == participant_id)
        .correlate_except(TelegramLink)
    )
    later = aliased(OutboxMessage)
    # A chat's messages go in id order (the sender takes none before an older one is done).
    reached_since = (
        exists()
        .where(
            later.chat_id.in_(chats),
            later.status == "sent",
            later.participant_id == participant_id,
            later.id > OutboxMessage.id,
        )
        .correlate_except(later)
    )
    return and_(
        OutboxMessage.chat_id.in_(chats),
        OutboxMessage.status == "failed",
        OutboxMessage.participant_id == participant_id,
        ~reached_since,
    )


async def undelivered(
    session: AsyncSession, participant_id: int, zone: ZoneInfo
) -> Undelivered | None:
    """How many messages have stopped reaching him, when and why; None when none has."""
    row = (
        await session.execute(
            select(func.count().over(), OutboxMessage.next_attempt_at, OutboxMessage.last_error)
            .where(not_reaching(participant_id))
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    count, tried_at, error = row
    # A failed row keeps the time its last try was due: when it was tried, or just before.
    return Undelivered(count, tried_at.astimezone(zone), why_failed(error))
