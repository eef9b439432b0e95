"""Staff side of complaints: their queue, acknowledging, replying, the daily overdue notice.

Every call is made as a named member of staff and shows only what `can_see` allows: a
complaint about someone never appears in their lists, counts or notices. Used by the CLI now
and the dashboard later; each call is one transaction, audited.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot import messages
from bot.db.claims import insert_once
from bot.db.models import AppState, Complaint, Participant, QueueItem, Staff
from bot.domain import complaints as rules
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.roles import Role
from bot.services import staff_notes
from bot.services.complaints import (
    VIEW_PREFIX,
    add_entry,
    handler_title,
    role_title,
    visibility,
)
from bot.services.context import ServiceContext, audit
from bot.services.notices import (
    notify_staff,
    participant_translator,
    staff_by_email,
    staff_translator,
    tell_participant,
)

# Leaves room in one Telegram message (4,096) for the words around the answer.
MAX_REPLY = 3900
# The overdue notice goes out once a day, from this local hour.
OVERDUE_NOTICE_HOUR = 9


@dataclass(frozen=True, slots=True)
class EntryView:
    kind: str
    stage: int
    author: str
    text: str | None
    at: datetime  # local time
    delivery: str | None = None  # for a reply: queued / sent / failed: ...


@dataclass(frozen=True, slots=True)
class ComplaintView:
    reference: str
    participant_reference: str
    first_name: str
    category: str
    about: str
    stage: int
    status: str
    queue: str
    received_at: datetime  # local time
    acknowledge_due: date
    reply_due: date
    overdue: bool
    entries: list[EntryView]
    notes: tuple[staff_notes.NoteView, ...] = ()


async def list_complaints(
    ctx: ServiceContext,
    viewer_email: str,
    *,
    queue: Role | None = None,
    overdue_only: bool = False,
    include_closed: bool = False,
) -> list[ComplaintView]:
    """What this member of staff may see, soonest reply due first."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        scope = rules.scope_for(viewer.id, viewer.role)
        if scope is None:
            return []
        query = (
            select(Complaint)
            .where(scope_clause(scope))
            .options(*_LOAD)
            .order_by(Complaint.reply_due, Complaint.id)
        )
        if not include_closed:
            query = query.where(Complaint.status != rules.Status.CLOSED)
        if queue is not None:
            query = query.where(Complaint.queue == queue)
        today = ctx.now().astimezone(ctx.profile.zone).date()
        views = [_view(ctx, c, today) for c in await session.scalars(query)]
    return [v for v in views if v.overdue] if overdue_only else views


def scope_clause(
    scope: rules.Scope, table: type[Complaint] | type[QueueItem] = Complaint
) -> ColumnElement[bool]:
    """The same rule as `rules.admits`, as a WHERE clause, so lists stay in the database;
    on complaints, or on their rows in the staff queue (which carry the same columns)."""
    not_about = or_(table.about_staff_id.is_(None), table.about_staff_id != scope.staff_id)
    if scope.everything:
        return not_about
    allowed = []
    if scope.stage is not None:
        allowed.append(table.stage == scope.stage)
    if scope.assigned_in is not None:
        allowed.append(and_(table.queue == scope.assigned_in, table.assignee_id == scope.staff_id))
    return and_(not_about, or_(*allowed))


async def show_complaint(ctx: ServiceContext, viewer_email: str, reference: str) -> ComplaintView:
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        complaint = await visible_complaint(session, viewer, reference)
        audit(session, f"staff:{viewer.id}", "complaint.view", f"complaint:{complaint.id}")
        today = ctx.now().astimezone(ctx.profile.zone).date()
        view = _view(ctx, complaint, today)
        entries = [
            dataclasses.replace(shown, delivery=await staff_notes.delivery(session, e.outbox_id))
            for shown, e in zip(view.entries, complaint.entries, strict=True)
        ]
        notes = await staff_notes.notes_on(session, f"complaint:{complaint.id}", ctx.profile.zone)
        view = dataclasses.replace(view, entries=entries, notes=tuple(notes))
        await session.commit()
    return view


async def add_note(ctx: ServiceContext, viewer_email: str, reference: str, text: str) -> None:
    """An internal note for colleagues who can see the complaint; he never sees it."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        complaint = await visible_complaint(session, viewer, reference)
        staff_notes.add(session, viewer.id, f"complaint:{complaint.id}", text, ctx.now())
        audit(session, f"staff:{viewer.id}", "complaint.note", f"complaint:{complaint.id}")
        await session.commit()


async def acknowledge(ctx: ServiceContext, viewer_email: str, reference: str) -> ComplaintView:
    """Tell him his complaint has been read, and by when he will hear back."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        complaint = await visible_complaint(session, viewer, reference)
        complaint.status = rules.acknowledge(complaint.status)
        now = ctx.now()
        complaint.acknowledged_at = now
        add_entry(session, complaint, f"staff:{viewer.id}", "acknowledged", None, now)
        participant = complaint.participant
        t = participant_translator(ctx, participant)
        await tell_participant(
            ctx,
            session,
            participant,
            messages.complaint_acknowledged(t, complaint.reference, complaint.reply_due),
        )
        audit(session, f"staff:{viewer.id}", "complaint.acknowledge", f"complaint:{complaint.id}")
        view = _view(ctx, complaint, now.astimezone(ctx.profile.zone).date())
        await session.commit()
    ctx.on_outbox_written()
    return view


async def reply(
    ctx: ServiceContext, viewer_email: str, reference: str, message: str, *, close: bool = False
) -> ComplaintView:
    """Send the answer. At stage 1 he can then say he is satisfied or not (within the
    profile's window); after stage 2 he is told about the Ombudsman."""
    message = message.strip()
    if not message:
        raise InvalidInput("The reply is empty.")
    if len(message) > MAX_REPLY:
        raise InvalidInput("The reply is too long: at most {most} characters.", most=MAX_REPLY)
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        complaint = await visible_complaint(session, viewer, reference)
        complaint.status = rules.reply(complaint.status, complaint.stage, close)
        close = complaint.status is rules.Status.CLOSED
        now = ctx.now()
        today = now.astimezone(ctx.profile.zone).date()
        complaint.answered_at = now
        if close:
            complaint.closed_at = now
        answer = add_entry(session, complaint, f"staff:{viewer.id}", "reply", message, now)
        participant = complaint.participant
        t = participant_translator(ctx, participant)
        text = messages.complaint_reply(
            t, complaint.reference, handler_title(ctx, complaint, complaint.stage), message
        )
        if close:
            text += "\n\n" + messages.complaint_closed_by_reply(t)
        # What he can do next goes in a second message, so the answer itself always fits.
        markup = None
        if complaint.stage == 1:
            until = rules.escalation_open_until(
                today, ctx.profile.working_calendar(), ctx.profile.complaint_rules
            )
            complaint.escalation_open_until = until
            follow_up = messages.complaint_reply_choices(
                t, role_title(ctx, Role.CHIEF_OFFICER), until
            )
            buttons = [(t._(messages.BUTTON_NOT_SATISFIED), f"{VIEW_PREFIX}:{complaint.id}:unsat")]
            if not close:
                buttons.insert(
                    0, (t._(messages.BUTTON_SATISFIED), f"{VIEW_PREFIX}:{complaint.id}:sat")
                )
            markup = messages.inline([[b] for b in buttons])
        else:
            complaints = ctx.profile.complaints
            follow_up = messages.ombudsman(
                t,
                complaint.reference,
                complaints.ombudsman_months,
                complaints.ombudsman_address,
                complaints.ombudsman_telephone,
                complaints.ombudsman_web,
            )
        told = await tell_participant(ctx, session, participant, text)
        await tell_participant(ctx, session, participant, follow_up, markup)
        answer.outbox_id = told.id if told is not None else None
        audit(
            session,
            f"staff:{viewer.id}",
            "complaint.reply",
            f"complaint:{complaint.id}",
            stage=complaint.stage,
            close=close,
            participant_told=told is not None,
        )
        view = _view(ctx, complaint, today)
        await session.commit()
    ctx.on_outbox_written()
    return view


async def queue_overdue_notices(ctx: ServiceContext) -> int:
    """Once a day: tell each member of staff (by Telegram) how many of theirs are overdue."""
    now = ctx.now()
    local = now.astimezone(ctx.profile.zone)
    if local.hour < OVERDUE_NOTICE_HOUR:
        return 0
    async with ctx.uow() as session:
        # Once a day across restarts and processes: the first to record the day sends it.
        day_key = f"complaints-overdue:{local.date().isoformat()}"
        if not await insert_once(session, AppState, ["key"], key=day_key, value="done"):
            return 0
        complaints = [
            c
            for c in await session.scalars(
                select(Complaint).where(Complaint.status != rules.Status.CLOSED)
            )
            if _is_overdue(c, local.date())
        ]
        staff = await session.scalars(
            select(Staff).where(Staff.active.is_(True), Staff.telegram_chat_id.is_not(None))
        )
        t, told = staff_translator(ctx), 0
        for member in staff:
            count = sum(
                1 for c in complaints if rules.can_see(member.id, member.role, visibility(c))
            )
            # Admins see everything; the notice is for those who answer.
            if count and member.role is not Role.ADMIN:
                notify_staff(ctx, session, member, messages.staff_overdue(t, count))
                told += 1
        await session.commit()
    if told:
        ctx.on_outbox_written()
    return told


# --- helpers ----------------------------------------------------------------------------------

_LOAD = (
    selectinload(Complaint.participant).selectinload(Participant.offender_manager),
    selectinload(Complaint.entries),
)


async def visible_complaint(session: AsyncSession, viewer: Staff, reference: str) -> Complaint:
    """The complaint, if this person may see it; otherwise as if it did not exist."""
    complaint = await session.scalar(
        select(Complaint).where(Complaint.reference == reference.strip().upper()).options(*_LOAD)
    )
    if complaint is None or not rules.can_see(viewer.id, viewer.role, visibility(complaint)):
        raise NotFound("There is no complaint {reference} in your queue.", reference=reference)
    return complaint


def _is_overdue(complaint: Complaint, today: date) -> bool:
    due = rules.Deadlines(complaint.acknowledge_due, complaint.reply_due)
    return rules.is_overdue(complaint.status, complaint.acknowledged_at is not None, due, today)


def _view(ctx: ServiceContext, complaint: Complaint, today: date) -> ComplaintView:
    zone = ctx.profile.zone
    return ComplaintView(
        reference=complaint.reference,
        participant_reference=complaint.participant.reference,
        first_name=complaint.participant.name,
        category=complaint.category.value,
        about=complaint.about.value,
        stage=complaint.stage,
        status=complaint.status.value,
        queue=complaint.queue.value,
        received_at=complaint.received_at.astimezone(zone),
        acknowledge_due=complaint.acknowledge_due,
        reply_due=complaint.reply_due,
        overdue=_is_overdue(complaint, today),
        entries=[
            EntryView(e.kind, e.stage, e.author, e.text, e.at.astimezone(zone))
            for e in complaint.entries
        ],
    )
