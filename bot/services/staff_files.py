"""Files participants sent, opened by staff: only by those who may see what they belong to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload, undefer

from bot.db.models import AbsenceReport, Attachment, Complaint, Participant
from bot.domain import complaints as complaint_rules
from bot.domain.errors import NotFound
from bot.domain.roles import can_see_absence
from bot.services.complaints import visibility
from bot.services.context import ServiceContext, audit
from bot.services.notices import staff_by_email


@dataclass(frozen=True, slots=True)
class Download:
    file_name: str
    mime_type: str
    content: bytes


async def download(ctx: ServiceContext, viewer_email: str, attachment_id: int) -> Download:
    """The file's bytes, audited; NotFound when missing, not fetched yet, or not theirs."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        attachment = await session.scalar(
            select(Attachment)
            .where(Attachment.id == attachment_id)
            .options(undefer(Attachment.content))
        )
        allowed = False
        if attachment is not None and attachment.absence_id is not None:
            report = await session.scalar(
                select(AbsenceReport)
                .where(AbsenceReport.id == attachment.absence_id)
                .options(selectinload(AbsenceReport.participant))
            )
            allowed = report is not None and can_see_absence(
                viewer.id,
                viewer.role,
                report.participant.offender_manager_id,
                report.assignee_id,
            )
        elif attachment is not None and attachment.complaint_id is not None:
            complaint = await session.scalar(
                select(Complaint)
                .where(Complaint.id == attachment.complaint_id)
                .options(
                    selectinload(Complaint.participant).selectinload(Participant.offender_manager)
                )
            )
            allowed = complaint is not None and complaint_rules.can_see(
                viewer.id, viewer.role, visibility(complaint)
            )
        if attachment is None or not allowed or attachment.content is None:
            raise NotFound("There is no file {id}.", id=attachment_id)
        audit(session, f"staff:{viewer.id}", "attachment.view", f"attachment:{attachment.id}")
        await session.commit()
        return Download(attachment.file_name, attachment.mime_type, attachment.content)
