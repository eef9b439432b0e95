"""Messages sent unprompted: to a participant's linked chat, and to staff who linked Telegram.

Every one is written to the outbox in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.db.models import OutboxMessage, Participant, Staff, TelegramLink
from bot.domain.errors import NotFound
from bot.i18n import Translator
from bot.services.context import ServiceContext, audit, queue_message
from bot.services.progress import load_summary
from bot.services.turns import om_contact


async def participant_chat(session: AsyncSession, participant_id: int) -> int | None:
    """The chat his account is linked to now, if any."""
    chat_id: int | None = await session.scalar(
        select(TelegramLink.chat_id).where(
            TelegramLink.participant_id == participant_id, TelegramLink.unlinked_at.is_(None)
        )
    )
    return chat_id


def participant_translator(ctx: ServiceContext, participant: Participant) -> Translator:
    return ctx.catalogs.translator(participant.language)


async def tell_participant(
    ctx: ServiceContext,
    session: AsyncSession,
    participant: Participant,
    text: str,
    reply_markup: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    """Queue a message to his linked chat (flushed, so it has an id for tracking its
    delivery); None when he has not linked one."""
    chat_id = await participant_chat(session, participant.id)
    if chat_id is None:
        return None
    message = queue_message(
        session,
        ctx.now(),
        chat_id,
        text,
        reply_markup=reply_markup,
        participant_id=participant.id,
    )
    await session.flush()
    return message


def staff_translator(ctx: ServiceContext) -> Translator:
    return ctx.catalogs.translator()


def notify_staff(
    ctx: ServiceContext, session: AsyncSession, staff: Staff, text: str | None = None
) -> None:
    """A notice to a member of staff's Telegram, when they have linked one.

    By default the neutral "New item in your queue": a phone can be lost or seen by others,
    so the content stays in the queue.
    """
    if staff.active and staff.telegram_chat_id is not None:
        notice = text or messages.staff_new_item(staff_translator(ctx), ctx.dashboard_url)
        queue_message(session, ctx.now(), staff.telegram_chat_id, notice)


async def flag_restart_if_needed(
    ctx: ServiceContext, session: AsyncSession, participant: Participant
) -> bool:
    """When his misses first pass the catch-up allowance: tell him plainly, flag it to staff.

    The bot never decides that he starts again; staff confirm it. Needs
    `participant.offender_manager` loaded.
    """
    summary = await load_summary(session, ctx.profile.rules, participant.id)
    if not summary.restart_required or participant.restart_flagged_at is not None:
        return False
    now = ctx.now()
    participant.restart_flagged_at = now
    om = participant.offender_manager
    t = participant_translator(ctx, participant)
    await tell_participant(
        ctx,
        session,
        participant,
        messages.restart_notice(
            t, summary.sessions_missed, summary.max_catch_ups, om_contact(participant)
        ),
    )
    notify_staff(ctx, session, om)
    audit(
        session,
        "system",
        "participant.restart_flag",
        f"participant:{participant.id}",
        missed=summary.sessions_missed,
    )
    return True


async def staff_by_email(session: AsyncSession, email: str) -> Staff:
    """An active member of staff, or NotFound."""
    staff = await session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None or not staff.active:
        raise NotFound("There is no active member of staff with email {email}.", email=email)
    return staff
