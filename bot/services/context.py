"""What every service needs: a unit of work, the profile, translations, secrets and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Profile
from bot.db.engine import UnitOfWork
from bot.db.models import AuditEntry, OutboxMessage
from bot.i18n import Catalogs


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    session_factory: async_sessionmaker[AsyncSession]
    profile: Profile
    catalogs: Catalogs
    secret_key: bytes
    clock: Callable[[], datetime] = system_clock
    # Where staff reach the dashboard (for links in their Telegram alerts), if configured.
    dashboard_url: str | None = None
    # The bot's username when configured; otherwise learnt from Telegram (see bot_username).
    bot_username: str | None = None
    # Demo mode: enrolment links open the demo's phone page (this, then the code), not Telegram.
    enrolment_link_base: str | None = None
    # Called after a commit that queued outgoing messages, so the sender wakes at once.
    on_outbox_written: Callable[[], None] = field(default=lambda: None)
    # Called after a file he sent was recorded, so the fetcher downloads it at once.
    on_attachment_written: Callable[[], None] = field(default=lambda: None)
    # Called after a complaint was sent or escalated, so its staff are told at once.
    on_staff_to_tell: Callable[[], None] = field(default=lambda: None)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def now(self) -> datetime:
        return self.clock()


def queue_message(
    session: AsyncSession,
    now: datetime,
    chat_id: int,
    text: str | None,
    *,
    reply_markup: dict[str, Any] | None = None,
    participant_id: int | None = None,
    action: str = "message",
    bulk: bool = False,
    update_id: int | None = None,
) -> OutboxMessage:
    """Add a message (or another chat action) to the outbox in the caller's transaction.

    `bulk` (reminders) go after every message that answers someone, so nobody waits behind
    a big fan-out for the reply to what he just did.
    """
    message = OutboxMessage(
        chat_id=chat_id,
        action=action,
        bulk=bulk,
        text=text,
        reply_markup=reply_markup,
        participant_id=participant_id,
        created_at=now,
        next_attempt_at=now,
        update_id=update_id,
    )
    session.add(message)
    return message


def audit(
    session: AsyncSession,
    actor: str,
    action: str,
    subject: str | None = None,
    /,
    **details: Any,
) -> None:
    """Record, in the caller's transaction, what a member of staff did, or a setting a
    participant changed (his language, his reminders), which keeps no history of its own.
    What he sends (a report, a complaint, its entries) is its own record and is not
    audited."""
    session.add(AuditEntry(actor=actor, action=action, subject=subject, details=details or None))


async def cancel_pending(session: AsyncSession, chat_id: int, reason: str) -> None:
    """Nothing still waiting may reach a chat that no longer speaks for him."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == "pending")
        .values(status="cancelled", last_error=reason)
    )
