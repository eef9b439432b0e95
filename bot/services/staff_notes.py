"""Internal notes on an item, and whether a message staff sent him has arrived.

Notes are for colleagues only: nothing here is ever sent to the participant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import OutboxMessage, StaffNote
from bot.domain.errors import InvalidInput

MAX_NOTE = 2000


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
        if "blocked" in (message.last_error or ""):
            return "failed: participant has blocked the bot"
        return "failed: Telegram would not take it"
    if message.status == "cancelled":
        return "not sent: his phone was unlinked"
    return {"pending": "queued", "sent": "sent"}.get(message.status, message.status)
