"""A participant's record for the staff who work with him: his progress, his phone link,
messages that no longer reach him, a fresh enrolment code and catch-up bookings. Every view
and change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import (
    Attendance,
    CatchUpBooking,
    Cohort,
    CohortStaff,
    Participant,
    Staff,
    TelegramLink,
)
from bot.domain.attendance import AttendanceSummary
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.roles import Role, can_see_participant, can_take_attendance
from bot.services import admin, staff_notes
from bot.services.context import ServiceContext, audit, cancel_pending
from bot.services.notices import staff_by_email
from bot.services.progress import load_summary


@dataclass(frozen=True, slots=True)
class Person:
    reference: str
    first_name: str
    cohort: str
    not_reached: bool  # messages to him have stopped getting through


@dataclass(frozen=True, slots=True)
class Booking:
    session_number: int
    starts_at: datetime  # local time
    venue: str | None


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    reference: str
    first_name: str
    cohort: str
    offender_manager: str
    language: str | None
    summary: AttendanceSummary
    restart_flagged: bool
    phone_linked_at: datetime | None  # local time; None when no phone is linked
    undelivered: staff_notes.Undelivered | None  # messages that have stopped reaching him
    missed_sessions: list[int]  # those a catch-up can be booked for
    bookings: list[Booking]
    can_book: bool  # facilitators of his cohort and admins


async def _facilitators(session: AsyncSession, cohort_id: int) -> set[int]:
    rows = await session.scalars(
        select(CohortStaff.staff_id).where(CohortStaff.cohort_id == cohort_id)
    )
    return set(rows)


async def _participant(
    session: AsyncSession, viewer: Staff, reference: str
) -> tuple[Participant, set[int]]:
    """He, if this person works with him (else as if he did not exist)."""
    participant = await session.scalar(
        select(Participant)
        .where(Participant.reference == reference.strip().upper())
        .options(
            selectinload(Participant.cohort).selectinload(Cohort.sessions),
            selectinload(Participant.offender_manager),
        )
    )
    if participant is not None:
        facilitators = await _facilitators(session, participant.cohort_id)
        if can_see_participant(
            viewer.id, viewer.role, participant.offender_manager_id, facilitators
        ):
            return participant, facilitators
    raise NotFound("There is no participant {reference} in your caseload.", reference=reference)


async def my_participants(ctx: ServiceContext, viewer_email: str) -> list[Person]:
    """Everyone this person works with: his OM's caseload, the cohorts a facilitator runs,
    everyone for an admin."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        query = select(
            Participant, Cohort.name, exists().where(staff_notes.not_reaching(Participant.id))
        ).join(Cohort, Cohort.id == Participant.cohort_id)
        if viewer.role is Role.OFFENDER_MANAGER:
            query = query.where(Participant.offender_manager_id == viewer.id)
        elif viewer.role is Role.FACILITATOR:
            runs = select(CohortStaff.cohort_id).where(CohortStaff.staff_id == viewer.id)
            query = query.where(Participant.cohort_id.in_(runs))
        elif viewer.role is not Role.ADMIN:
            return []
        rows = await session.execute(query.order_by(Cohort.name, Participant.name))
        return [Person(p.reference, p.name, cohort, failing) for p, cohort, failing in rows]


async def show_participant(
    ctx: ServiceContext, viewer_email: str, reference: str
) -> ParticipantRecord:
    zone = ctx.profile.zone
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        participant, facilitators = await _participant(session, viewer, reference)
        summary = await load_summary(session, ctx.profile.rules, participant.id)
        linked_at = await session.scalar(
            select(TelegramLink.linked_at).where(
                TelegramLink.participant_id == participant.id, TelegramLink.unlinked_at.is_(None)
            )
        )
        missed = await session.scalars(
            select(Attendance)
            .where(Attendance.participant_id == participant.id)
            .options(selectinload(Attendance.session))
        )
        bookings = await session.scalars(
            select(CatchUpBooking)
            .where(CatchUpBooking.participant_id == participant.id)
            .order_by(CatchUpBooking.starts_at)
        )
        undelivered = await staff_notes.undelivered(session, participant.id, zone)
        numbers = {s.id: s.number for s in participant.cohort.sessions}
        record = ParticipantRecord(
            reference=participant.reference,
            first_name=participant.name,
            cohort=participant.cohort.name,
            offender_manager=participant.offender_manager.name,
            language=participant.language,
            summary=summary,
            restart_flagged=participant.restart_flagged_at is not None,
            phone_linked_at=linked_at.astimezone(zone) if linked_at else None,
            undelivered=undelivered,
            missed_sessions=sorted(a.session.number for a in missed if a.outcome.uses_catch_up),
            bookings=[
                Booking(numbers.get(b.session_id, 0), b.starts_at.astimezone(zone), b.venue)
                for b in bookings
            ],
            can_book=can_take_attendance(viewer.id, viewer.role, facilitators),
        )
        audit(session, f"staff:{viewer.id}", "participant.view", f"participant:{participant.id}")
        await session.commit()
    return record


async def revoke_phone_link(ctx: ServiceContext, viewer_email: str, reference: str) -> None:
    """End his phone's link (a lost or stolen phone): it can no longer act for him, and
    nothing still waiting goes to it. Nothing is sent to it either: whoever has the phone
    now must not learn that he is on probation. He links again with a new code."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        participant, _ = await _participant(session, viewer, reference)
        links = list(
            await session.scalars(
                select(TelegramLink).where(
                    TelegramLink.participant_id == participant.id,
                    TelegramLink.unlinked_at.is_(None),
                )
            )
        )
        if not links:
            raise Conflict("No phone is linked for him.")
        now = ctx.now()
        for link in links:
            link.unlinked_at = now
            await cancel_pending(session, link.chat_id, "phone link revoked")
        audit(session, f"staff:{viewer.id}", "participant.unlink", f"participant:{participant.id}")
        await session.commit()


async def set_language(
    ctx: ServiceContext, viewer_email: str, reference: str, language: str
) -> None:
    """The language everything to him is written in (he can change it with /language)."""
    code = ctx.catalogs.match(language)
    if code is None:
        raise InvalidInput("Choose one of the languages listed.")
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        participant, _ = await _participant(session, viewer, reference)
        participant.language = code
        audit(
            session,
            f"staff:{viewer.id}",
            "participant.language",
            f"participant:{participant.id}",
            language=code,
        )
        await session.commit()


async def new_code(ctx: ServiceContext, viewer_email: str, reference: str) -> admin.CodeView:
    """A fresh enrolment code (earlier unused ones stop working), for a new phone."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        participant, _ = await _participant(session, viewer, reference)
        actor = f"staff:{viewer.id}"
    return await admin.issue_code(ctx, actor, participant.reference, await admin.bot_username(ctx))


async def book_catch_up(
    ctx: ServiceContext,
    viewer_email: str,
    reference: str,
    for_session: int,
    starts_at: datetime,
    venue: str | None,
) -> datetime:
    """Book (or move) a catch-up: the facilitators of his cohort and admins."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        participant, facilitators = await _participant(session, viewer, reference)
        if not can_take_attendance(viewer.id, viewer.role, facilitators):
            raise NotFound(
                "There is no participant {reference} in your cohorts.", reference=reference
            )
        actor = f"staff:{viewer.id}"
    return await admin.book_catch_up(
        ctx, actor, participant.reference, for_session, starts_at, venue
    )
