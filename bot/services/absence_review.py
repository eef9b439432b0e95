"""Staff side of absence reports: list them, decide them, mark sick notes received.

Used by the CLI now and the dashboard later; each call is one transaction, audited, and
anything the participant must hear is written to the outbox in the same transaction.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot import messages
from bot.db.models import AbsenceReport, Attachment, Attendance, Participant
from bot.domain.absence import AbsenceStatus, Decision, decide
from bot.domain.attendance import Outcome
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.roles import can_see_absence
from bot.services import staff_notes
from bot.services.context import ServiceContext, audit
from bot.services.notices import (
    flag_restart_if_needed,
    participant_translator,
    staff_by_email,
    tell_participant,
)

MAX_DECISION_MESSAGE = 2000


@dataclass(frozen=True, slots=True)
class AbsenceView:
    id: int
    reference: str
    first_name: str
    offender_manager: str  # email
    session_number: int
    session_starts_at: datetime  # local time
    reason: str
    details: str | None
    status: str
    reported_at: datetime  # local time
    sick_note_due: date | None
    sick_note_files: int
    certificate_received_at: datetime | None  # local time
    decided_by: str | None
    decision_message: str | None
    decision_delivery: str | None = None  # queued / sent / failed: ...
    notes: tuple[staff_notes.NoteView, ...] = ()


async def list_absences(
    ctx: ServiceContext, *, pending_only: bool = False, offender_manager: str | None = None
) -> list[AbsenceView]:
    """Reports, oldest session first; `pending_only` keeps those still to decide or waiting
    for a sick note."""
    async with ctx.uow() as session:
        query = select(AbsenceReport).options(*_LOAD).order_by(AbsenceReport.id)
        if pending_only:
            query = query.where(
                (AbsenceReport.status == AbsenceStatus.REPORTED)
                | (
                    AbsenceReport.self_certificate_due.is_not(None)
                    & AbsenceReport.certificate_received_at.is_(None)
                    & (AbsenceReport.status != AbsenceStatus.WITHDRAWN)
                )
            )
        if offender_manager is not None:
            query = query.join(Participant).where(
                Participant.offender_manager.has(email=offender_manager.strip().lower())
            )
        reports = list(await session.scalars(query))
        counts = await _file_counts(session, [r.id for r in reports])
        views = [_view(ctx, r, counts.get(r.id, 0)) for r in reports]
    return sorted(views, key=lambda v: v.session_starts_at)


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    file_name: str
    mime_type: str
    size: int | None
    received_at: datetime  # local time
    fetched: bool


async def show_absence(
    ctx: ServiceContext, viewer_email: str, absence_id: int
) -> tuple[AbsenceView, list[AttachmentView]]:
    """One report and its files, for his Offender Manager (or an admin); audited."""
    async with ctx.uow() as session:
        report = await report_for(session, absence_id, viewer_email)
        files = list(
            await session.scalars(
                select(Attachment).where(Attachment.absence_id == report.id).order_by(Attachment.id)
            )
        )
        view = dataclasses.replace(
            _view(ctx, report, len(files)),
            decision_delivery=await staff_notes.delivery(session, report.decision_outbox_id),
            notes=tuple(
                await staff_notes.notes_on(session, f"absence:{report.id}", ctx.profile.zone)
            ),
        )
        viewer = await staff_by_email(session, viewer_email)
        audit(session, f"staff:{viewer.id}", "absence.view", f"absence:{report.id}")
        await session.commit()
    zone = ctx.profile.zone
    return view, [
        AttachmentView(
            f.id,
            f.file_name,
            f.mime_type,
            f.size,
            f.received_at.astimezone(zone),
            f.fetched_at is not None,
        )
        for f in files
    ]


async def add_note(ctx: ServiceContext, viewer_email: str, absence_id: int, text: str) -> None:
    """An internal note for colleagues; he never sees it."""
    async with ctx.uow() as session:
        report = await report_for(session, absence_id, viewer_email)
        viewer = await staff_by_email(session, viewer_email)
        staff_notes.add(session, viewer.id, f"absence:{report.id}", text, ctx.now())
        audit(session, f"staff:{viewer.id}", "absence.note", f"absence:{report.id}")
        await session.commit()


async def decide_absence(
    ctx: ServiceContext,
    actor: str,
    absence_id: int,
    decision: Decision,
    message: str | None,
    *,
    viewer_email: str | None = None,
) -> AbsenceView:
    """Record the Offender Manager's decision, the attendance outcome it means, and tell him.

    With `viewer_email` (the dashboard), only his Offender Manager or an admin may decide.
    """
    message = (message or "").strip() or None
    if message is not None and len(message) > MAX_DECISION_MESSAGE:
        raise InvalidInput(
            "The message is too long: at most {most} characters.", most=MAX_DECISION_MESSAGE
        )
    async with ctx.uow() as session:
        report = await report_for(session, absence_id, viewer_email)
        report.status = decide(report.status, decision)
        now = ctx.now()
        report.decided_at, report.decided_by, report.decision_message = now, actor, message
        await _record_outcome(session, report, decision, now)
        participant = report.participant
        t = participant_translator(ctx, participant)
        starts_at = report.session.starts_at.astimezone(ctx.profile.zone)
        text = (
            messages.decision_acceptable(t, starts_at)
            if decision is Decision.ACCEPTABLE
            else messages.decision_unacceptable(t, starts_at)
        )
        if message is not None:
            text = f"{text}\n\n{messages.message_from_om(t, message)}"
        told = await tell_participant(ctx, session, participant, text)
        report.decision_outbox_id = told.id if told is not None else None
        audit(
            session,
            actor,
            "absence.decide",
            f"absence:{report.id}",
            decision=decision.value,
            with_message=message is not None,
            participant_told=told is not None,
        )
        await session.flush()
        await flag_restart_if_needed(ctx, session, participant)
        view = _view(ctx, report, await _file_count(session, report.id))
        await session.commit()
    ctx.on_outbox_written()
    return view


async def mark_certificate_received(
    ctx: ServiceContext, actor: str, absence_id: int, *, viewer_email: str | None = None
) -> AbsenceView:
    """The Offender Manager has the sick note: reminders stop and he is thanked."""
    async with ctx.uow() as session:
        report = await report_for(session, absence_id, viewer_email)
        if report.self_certificate_due is None:
            raise Conflict(
                "Absence {id} is not for illness, so it needs no sick note.", id=absence_id
            )
        if report.certificate_received_at is not None:
            raise Conflict(
                "The sick note for absence {id} is already marked received.", id=absence_id
            )
        report.certificate_received_at = ctx.now()
        participant = report.participant
        t = participant_translator(ctx, participant)
        starts_at = report.session.starts_at.astimezone(ctx.profile.zone)
        await tell_participant(
            ctx, session, participant, messages.sick_note_marked_received(t, starts_at)
        )
        audit(session, actor, "absence.sick_note_received", f"absence:{report.id}")
        view = _view(ctx, report, await _file_count(session, report.id))
        await session.commit()
    ctx.on_outbox_written()
    return view


_LOAD = (
    selectinload(AbsenceReport.participant).selectinload(Participant.offender_manager),
    selectinload(AbsenceReport.session),
)


async def report_for(
    session: AsyncSession, absence_id: int, viewer_email: str | None = None
) -> AbsenceReport:
    """The report; when a viewer is named, only if they may see it (else as if it did not
    exist)."""
    report = await session.scalar(
        select(AbsenceReport).where(AbsenceReport.id == absence_id).options(*_LOAD)
    )
    if report is not None and viewer_email is not None:
        viewer = await staff_by_email(session, viewer_email)
        om_id = report.participant.offender_manager_id
        if not can_see_absence(viewer.id, viewer.role, om_id, report.assignee_id):
            report = None
    if report is None:
        raise NotFound("There is no absence report {id}.", id=absence_id)
    return report


async def _record_outcome(
    session: AsyncSession, report: AbsenceReport, decision: Decision, now: datetime
) -> None:
    """The decision is also the session's attendance outcome; either way it uses a catch-up."""
    existing = await session.scalar(
        select(Attendance).where(
            Attendance.participant_id == report.participant_id,
            Attendance.session_id == report.session_id,
        )
    )
    if existing is None:
        session.add(
            Attendance(
                participant_id=report.participant_id,
                session_id=report.session_id,
                outcome=decision.outcome,
                recorded_at=now,
            )
        )
    elif existing.outcome is Outcome.ABSENT:
        existing.outcome, existing.recorded_at = decision.outcome, now
    else:
        # Attended (even if sent home) or already decided: the record is not ours to change.
        # Translators: {outcome} stays in English: "attended", "attended but failed to
        # comply", "missed with an acceptable reason" or "missed without an acceptable reason".
        raise Conflict(
            "Session {number} is recorded as {outcome}. "
            "Correct the attendance first if that is wrong.",
            number=report.session.number,
            outcome=existing.outcome.description,
        )


async def _file_counts(session: AsyncSession, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Attachment.absence_id, func.count())
        .where(Attachment.absence_id.in_(ids))
        .group_by(Attachment.absence_id)
    )
    return {absence_id: count for absence_id, count in rows if absence_id is not None}


async def _file_count(session: AsyncSession, absence_id: int) -> int:
    return (await _file_counts(session, [absence_id])).get(absence_id, 0)


def _view(ctx: ServiceContext, report: AbsenceReport, files: int) -> AbsenceView:
    zone = ctx.profile.zone
    participant = report.participant
    received = report.certificate_received_at
    return AbsenceView(
        id=report.id,
        reference=participant.reference,
        first_name=participant.name,
        offender_manager=participant.offender_manager.email,
        session_number=report.session.number,
        session_starts_at=report.session.starts_at.astimezone(zone),
        reason=report.reason.value,
        details=report.details,
        status=report.status.value,
        reported_at=report.reported_at.astimezone(zone),
        sick_note_due=report.self_certificate_due,
        sick_note_files=files,
        certificate_received_at=received.astimezone(zone) if received else None,
        decided_by=report.decided_by,
        decision_message=report.decision_message,
    )
