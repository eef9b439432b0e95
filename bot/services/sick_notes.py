"""A sick note he sends in the chat: checked, attached to his illness absence, OM told.

Only the Telegram file id is stored here, in the update's transaction; `bot.attachments`
fetches the bytes afterwards, so nothing he sent is lost if the download has to wait.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot import messages
from bot.db.models import AbsenceReport, Attachment, Participant
from bot.domain.absence import AbsenceStatus, Reason
from bot.services.context import ServiceContext
from bot.services.incoming_files import IncomingFile, refusal
from bot.services.notices import notify_staff
from bot.services.turns import Turn


async def receive(
    ctx: ServiceContext, turn: Turn, participant: Participant, incoming: IncomingFile
) -> None:
    t = turn.t
    refused = refusal(t, incoming)
    if refused is not None:
        turn.reply(refused, messages.main_menu(t))
        return
    report = await _report_needing_note(turn, participant)
    if report is None:
        turn.reply(messages.sick_note_not_needed(t), messages.main_menu(t))
        return
    attachment = Attachment(
        absence_id=report.id,
        telegram_file_id=incoming.file_id,
        file_name=incoming.name(f"sick-note-{report.id}"),
        mime_type=incoming.type,
        size=incoming.size,
        received_at=turn.now,
    )
    turn.session.add(attachment)
    starts_at = report.session.starts_at.astimezone(ctx.profile.zone)
    notify_staff(ctx, turn.session, participant.offender_manager)
    turn.reply(messages.sick_note_received(t, starts_at), messages.main_menu(t))


async def _report_needing_note(turn: Turn, participant: Participant) -> AbsenceReport | None:
    """His illness absence still waiting for a note: one without a file first, then the
    earliest due (a second page goes with the first)."""
    reports = list(
        await turn.session.scalars(
            select(AbsenceReport)
            .where(
                AbsenceReport.participant_id == participant.id,
                AbsenceReport.reason == Reason.ILL,
                AbsenceReport.status != AbsenceStatus.WITHDRAWN,
                AbsenceReport.certificate_received_at.is_(None),
            )
            .options(selectinload(AbsenceReport.session), selectinload(AbsenceReport.attachments))
        )
    )
    if not reports:
        return None
    return min(reports, key=lambda r: (bool(r.attachments), r.self_certificate_due, r.id))
