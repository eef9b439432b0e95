"""The reminder scheduler's one job: find reminders that are due and write them to the outbox.

Each reminder is claimed in `sent_reminders` (a unique key per participant) in the same
transaction as its outbox row, so a restart, a second run or a second process never sends
it twice. Group-session reminders (a whole area's cohorts may be due at once) are written a
few hundred to a transaction: the sender starts on the first while the rest are written,
and nobody's reply waits behind one long transaction holding SQLite's write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot import messages
from bot.db.claims import insert_new, insert_once
from bot.db.models import (
    AbsenceReport,
    Attachment,
    CatchUp,
    CatchUpBooking,
    Participant,
    ScheduledSession,
    SentReminder,
    TelegramLink,
)
from bot.domain.absence import AbsenceStatus
from bot.domain.reminders import (
    SessionReminder,
    SickNoteReminder,
    due_session_reminder,
    due_sick_note_reminder,
)
from bot.services.absence import cant_attend_button
from bot.services.context import ServiceContext, audit, queue_message
from bot.services.notices import participant_translator
from bot.services.progress import load_summaries
from bot.services.turns import om_contact

# Far enough ahead to include "the evening before" for any session time.
LOOKAHEAD = timedelta(days=2)


# Reminders written per transaction: a chunk holds SQLite's one write lock while it is
# written, and an answer to someone waits for it. 250 kept one waiting just over a second
# during a 10,000-reminder fan-out; 100 hold it less than half as long.
CHUNK = 100


async def queue_due_reminders(ctx: ServiceContext) -> int:
    """Queue every reminder due now; returns how many were queued."""
    now = ctx.now()
    async with ctx.uow() as session:
        due = await _due_group_sessions(ctx, session, now)
    queued = 0
    for start in range(0, len(due), CHUNK):
        async with ctx.uow() as session:
            queued += await _queue_group_sessions(ctx, session, now, due[start : start + CHUNK])
            await session.commit()
        ctx.on_outbox_written()
    async with ctx.uow() as session:
        others = await _catch_ups(ctx, session, now) + await _sick_notes(ctx, session, now)
        await session.commit()
    if others:
        ctx.on_outbox_written()
    return queued + others


def _wanted(participant: Participant) -> frozenset[SessionReminder]:
    return _wanted_flags(participant.reminder_evening, participant.reminder_before)


def _wanted_flags(evening: bool, before: bool) -> frozenset[SessionReminder]:
    chosen = {SessionReminder.EVENING: evening, SessionReminder.BEFORE: before}
    return frozenset(kind for kind, on in chosen.items() if on)


_ACTIVE_LINK = (TelegramLink.participant_id == Participant.id) & TelegramLink.unlinked_at.is_(None)


@dataclass(frozen=True)
class _DueReminder:
    session_id: int
    participant_id: int
    chat_id: int
    kind: SessionReminder

    @property
    def key(self) -> str:
        return f"session:{self.session_id}:{self.kind}"


async def _due_group_sessions(
    ctx: ServiceContext, session: AsyncSession, now: datetime
) -> list[_DueReminder]:
    # Every man whose cohort meets in the next two days is looked at on every pass, so only
    # plain columns are read for them: whole records (and their Offender Managers) are
    # loaded only for the reminders due now, which keeps a pass over a big area light.
    rows = await session.execute(
        select(
            ScheduledSession.id,
            ScheduledSession.starts_at,
            Participant.id,
            Participant.reminder_evening,
            Participant.reminder_before,
            TelegramLink.chat_id,
        )
        .join(Participant, Participant.cohort_id == ScheduledSession.cohort_id)
        .join(TelegramLink, _ACTIVE_LINK)
        .where(ScheduledSession.starts_at > now, ScheduledSession.starts_at <= now + LOOKAHEAD)
        # Nothing for a session he has told us he cannot come to.
        .where(
            ~exists().where(
                AbsenceReport.participant_id == Participant.id,
                AbsenceReport.session_id == ScheduledSession.id,
                AbsenceReport.status != AbsenceStatus.WITHDRAWN,
            )
        )
        .order_by(ScheduledSession.starts_at, Participant.id)
    )
    zone, policy = ctx.profile.zone, ctx.profile.reminder_policy
    due = []
    for session_id, starts_at, participant_id, evening, before, chat_id in rows.all():
        kind = due_session_reminder(starts_at, now, zone, policy, _wanted_flags(evening, before))
        if kind is not None:
            due.append(_DueReminder(session_id, participant_id, chat_id, kind))
    return due


async def _queue_group_sessions(
    ctx: ServiceContext, session: AsyncSession, now: datetime, due: list[_DueReminder]
) -> int:
    """Claim and write these reminders (a chunk of the pass); returns how many were new."""
    claimed_keys = await insert_new(
        session,
        SentReminder,
        ["participant_id", "key"],
        [{"participant_id": r.participant_id, "key": r.key, "queued_at": now} for r in due],
    )
    claimed = [r for r in due if (r.participant_id, r.key) in claimed_keys]
    people = await _by_id(session, Participant, {r.participant_id for r in claimed})
    meetings = await _by_id(session, ScheduledSession, {r.session_id for r in claimed})
    summaries = await load_summaries(session, ctx.profile.rules, list(people))
    for reminder in claimed:
        scheduled, participant = meetings[reminder.session_id], people[reminder.participant_id]
        t = participant_translator(ctx, participant)
        text = messages.session_reminder(
            t,
            scheduled.starts_at.astimezone(ctx.profile.zone),
            scheduled.venue,
            evening=reminder.kind is SessionReminder.EVENING,
            catch_up=False,
        )
        if not summaries[participant.id].may_attend_next_session:
            # A catch-up to do first (or too many missed): he must not just turn up.
            text += "\n\n" + messages.catch_up_first(t, om_contact(participant))
        queue_message(
            session,
            now,
            reminder.chat_id,
            text,
            reply_markup=cant_attend_button(t, scheduled.id),
            participant_id=participant.id,
            bulk=True,
        )
        _audit(
            session, participant, "reminder.session", session=scheduled.number, kind=reminder.kind
        )
    return len(claimed)


_Row = TypeVar("_Row", Participant, ScheduledSession)


async def _by_id(session: AsyncSession, model: type[_Row], ids: set[int]) -> dict[int, _Row]:
    """These rows, a thousand at a time (participants with their Offender Managers)."""
    found: dict[int, _Row] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        query = select(model).where(model.id.in_(ordered[start : start + 1000]))
        if model is Participant:
            query = query.options(selectinload(Participant.offender_manager))
        for row in await session.scalars(query):
            found[row.id] = row
    return found


async def _catch_ups(ctx: ServiceContext, session: AsyncSession, now: datetime) -> int:
    rows = await session.execute(
        select(CatchUpBooking, Participant, TelegramLink.chat_id)
        .join(Participant, Participant.id == CatchUpBooking.participant_id)
        .join(TelegramLink, _ACTIVE_LINK)
        .where(CatchUpBooking.starts_at > now, CatchUpBooking.starts_at <= now + LOOKAHEAD)
        .where(
            ~exists().where(
                CatchUp.participant_id == CatchUpBooking.participant_id,
                CatchUp.session_id == CatchUpBooking.session_id,
            )
        )
        .options(selectinload(Participant.offender_manager))
    )
    queued = 0
    zone, policy = ctx.profile.zone, ctx.profile.reminder_policy
    for booking, participant, chat_id in rows:
        kind = due_session_reminder(booking.starts_at, now, zone, policy, _wanted(participant))
        if kind is None or not await _claim(
            session,
            participant.id,
            f"catchup:{booking.id}:{booking.starts_at.timestamp():.0f}:{kind}",
            now,
        ):
            continue
        t = participant_translator(ctx, participant)
        reminder = messages.session_reminder(
            t,
            booking.starts_at.astimezone(zone),
            booking.venue,
            evening=kind is SessionReminder.EVENING,
            catch_up=True,
        )
        contact = messages.catch_up_reminder_contact(t, om_contact(participant))
        queue_message(
            session,
            now,
            chat_id,
            f"{reminder}\n\n{contact}",
            participant_id=participant.id,
            bulk=True,
        )
        _audit(session, participant, "reminder.catch_up", booking=booking.id, kind=kind)
        queued += 1
    return queued


async def _sick_notes(ctx: ServiceContext, session: AsyncSession, now: datetime) -> int:
    zone, policy = ctx.profile.zone, ctx.profile.reminder_policy
    calendar = ctx.profile.working_calendar()
    rows = await session.execute(
        select(AbsenceReport, TelegramLink.chat_id)
        .join(Participant, Participant.id == AbsenceReport.participant_id)
        .join(TelegramLink, _ACTIVE_LINK)
        .where(
            AbsenceReport.self_certificate_due >= now.astimezone(zone).date(),
            AbsenceReport.certificate_received_at.is_(None),
            AbsenceReport.status != AbsenceStatus.WITHDRAWN,
            # A note he sent in the chat has arrived; the OM only has to mark it.
            ~exists().where(
                Attachment.absence_id == AbsenceReport.id, Attachment.fetched_at.is_not(None)
            ),
        )
        .options(selectinload(AbsenceReport.participant), selectinload(AbsenceReport.session))
    )
    queued = 0
    for report, chat_id in rows:
        due = report.self_certificate_due
        assert due is not None  # noqa: S101 - filtered above
        kind = due_sick_note_reminder(due, now, calendar, zone, policy)
        if kind is None or not await _claim(
            session, report.participant_id, f"sicknote:{report.id}:{kind}", now
        ):
            continue
        t = participant_translator(ctx, report.participant)
        starts_at = report.session.starts_at.astimezone(zone)
        text = (
            messages.sick_note_reminder_early(t, due, starts_at)
            if kind is SickNoteReminder.EARLY
            else messages.sick_note_reminder_last_day(t, starts_at)
        )
        queue_message(session, now, chat_id, text, participant_id=report.participant_id, bulk=True)
        _audit(session, report.participant, "reminder.sick_note", absence=report.id, kind=kind)
        queued += 1
    return queued


async def _claim(session: AsyncSession, participant_id: int, key: str, now: datetime) -> bool:
    """Record that this reminder is queued; False if it was queued before (by anyone)."""
    return await insert_once(
        session,
        SentReminder,
        ["participant_id", "key"],
        participant_id=participant_id,
        key=key,
        queued_at=now,
    )


def _audit(db: AsyncSession, participant: Participant, action: str, /, **details: object) -> None:
    audit(db, "scheduler", action, f"participant:{participant.id}", **details)
