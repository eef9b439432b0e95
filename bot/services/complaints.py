"""A participant's complaints: raising one by buttons, tracking them, answering a reply.

Raising: category → the person it is about (if any) → his words and files → check and send.
The conversation lives in the database; buttons carry its token, so old ones go stale.
Buttons on a complaint itself (`cmv:`) carry its id and are checked against his own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from bot import messages
from bot.db.models import (
    Attachment,
    CohortStaff,
    Complaint,
    ComplaintEntry,
    FormatRequest,
    Participant,
    Staff,
)
from bot.domain import complaints as rules
from bot.domain.complaints import About, Category, Status
from bot.domain.errors import Conflict
from bot.domain.roles import Role
from bot.i18n import Translator
from bot.services import conversations
from bot.services.context import ServiceContext
from bot.services.incoming_files import IncomingFile, refusal
from bot.services.notices import notify_staff
from bot.services.turns import Turn

KIND = "complaint"
ESCALATE_KIND = "escalate"
PREFIX = "cmp"  # the raising conversation's buttons
VIEW_PREFIX = "cmv"  # buttons on one of his complaints


def _data(token: str, action: str, value: str = "") -> str:
    return conversations.button(PREFIX, token, action, value)


def role_title(ctx: ServiceContext, role: Role) -> str:
    """The profile's title for a role, e.g. "Senior Probation Officer"."""
    return str(getattr(ctx.profile.roles, role.value))


def handler_title(ctx: ServiceContext, complaint: Complaint, stage: int) -> str:
    """The title of who answers at a stage, e.g. "Senior Probation Officer"."""
    if stage == 2:
        return role_title(ctx, rules.STAGE_2_ROUTING.queue)
    om_id = complaint.participant.offender_manager_id
    return role_title(ctx, rules.route(complaint.category, complaint.about_staff_id, om_id).queue)


async def begin(
    ctx: ServiceContext,
    turn: Turn,
    participant: Participant,
    categories: tuple[Category, ...] = tuple(Category),
) -> None:
    """Ask what it is about (the rights page offers just the discrimination ones)."""
    if not await _may_open_another(ctx, turn, participant):
        return
    conversation = await conversations.start(turn, KIND, "category")
    t, token = turn.t, conversation.token
    rows = [[(t._(messages.CATEGORY_LABELS[c]), _data(token, "c", c.value))] for c in categories]
    rows.append([(t._(messages.BUTTON_CANCEL), _data(token, "cancel"))])
    turn.reply(messages.complaint_choose_category(t), messages.inline(rows))


async def press(ctx: ServiceContext, turn: Turn, participant: Participant, data: str) -> bool:
    """One of the raising conversation's buttons; False when it is stale."""
    parsed = conversations.parse_button(data)
    if parsed is None:
        return False
    token, action, value = parsed
    conversation = await conversations.current(turn, KIND, token)
    if conversation is None:
        return False
    t = turn.t
    if action == "cancel":
        await conversations.cancel(turn, KIND)
    elif action == "c" and conversation.step == "category" and value in set(Category):
        category = Category(value)
        if category.may_name_staff:
            conversations.advance(turn, conversation, "person", category=category.value)
            await _ask_person(turn, participant, token)
        else:
            conversations.advance(
                turn, conversation, "details", category=value, about=About.GROUP_MEMBERS.value
            )
            _ask_details(turn, token)
    elif action == "p" and conversation.step == "person":
        chosen = await _person(turn.session, participant, value)
        if chosen is None:
            return False
        about, staff_id, label = chosen
        conversations.advance(
            turn,
            conversation,
            "details",
            about=about.value,
            about_staff_id=staff_id,
            person=label if about is About.STAFF else None,
        )
        _ask_details(turn, token)
    elif action == "done" and conversation.step == "details":
        if not conversation.data.get("words"):
            turn.reply(messages.complaint_details_needed(t), _done_cancel(t, token))
        # Checked again: one of his may have been reopened since he began.
        elif await _may_open_another(ctx, turn, participant):
            conversations.advance(turn, conversation, "confirm")
            _summarise(turn, conversation)
    elif action == "send" and conversation.step == "confirm":
        await _send(ctx, turn, participant, conversation.data)
        await conversations.end(turn, KIND)
    elif action == "change" and conversation.step == "confirm":
        await begin(ctx, turn, participant)
    else:
        return False
    return True


async def details(ctx: ServiceContext, turn: Turn, participant: Participant, text: str) -> bool:
    """His words, added to what he has written so far (several messages may make one)."""
    conversation = await conversations.current(turn, KIND)
    if conversation is None or conversation.step != "details":
        return False
    words = conversation.data.get("words") or ""
    combined = f"{words}\n\n{text.strip()}" if words else text.strip()
    token = conversation.token
    if len(combined) > rules.MAX_DESCRIPTION:
        left = max(0, rules.MAX_DESCRIPTION - len(words) - 2)
        turn.reply(messages.complaint_details_too_long(turn.t, left), _done_cancel(turn.t, token))
        return True
    conversations.advance(turn, conversation, "details", words=combined)
    turn.reply(
        messages.complaint_details_added(turn.t, len(combined), rules.MAX_DESCRIPTION),
        _done_cancel(turn.t, token),
    )
    return True


async def add_file(turn: Turn, incoming: IncomingFile) -> bool:
    """A photo or document while he is writing a complaint; False when he is not.

    Evidence is kept with the complaint when he sends it, with its caption added to his
    words. Sent at another step it is refused, never taken for something else (such as a
    sick note, which would go to the person the complaint may be about).
    """
    conversation = await conversations.latest(turn)
    if conversation is None or conversation.kind not in (KIND, ESCALATE_KIND):
        return False
    t, token = turn.t, conversation.token
    if conversation.kind != KIND or conversation.step != "details":
        return _not_now(turn)
    refused = refusal(t, incoming)
    if refused is not None:
        turn.reply(refused, _done_cancel(t, token))
        return True
    words = conversation.data.get("words") or ""
    caption = (incoming.caption or "").strip()
    if caption:
        words = f"{words}\n\n{caption}" if words else caption
        if len(words) > rules.MAX_DESCRIPTION:
            left = max(0, rules.MAX_DESCRIPTION - len(conversation.data.get("words") or "") - 2)
            turn.reply(messages.complaint_details_too_long(t, left), _done_cancel(t, token))
            return True
    file = {
        "file_id": incoming.file_id,
        "file_name": incoming.name("complaint-file"),
        "mime_type": incoming.type,
        "size": incoming.size,
    }
    files = [*conversation.data.get("files", []), file]
    conversations.advance(turn, conversation, "details", files=files, words=words)
    turn.reply(messages.complaint_file_added(t), _done_cancel(t, token))
    return True


def _not_now(turn: Turn) -> bool:
    turn.reply(messages.file_not_now(turn.t))
    return True


async def show_list(turn: Turn, participant: Participant) -> None:
    """`/complaints`: his complaints, newest first, each a button to its history."""
    rows = list(
        await turn.session.scalars(
            select(Complaint)
            .where(Complaint.participant_id == participant.id)
            .order_by(Complaint.id.desc())
            .limit(20)
        )
    )
    t = turn.t
    if not rows:
        turn.reply(messages.complaints_none(t), messages.main_menu(t))
        return
    lines = [
        messages.complaint_list_line(
            t, c.reference, c.stage, c.status, c.reply_due if c.status.awaiting_reply else None
        )
        for c in rows
    ]
    buttons = [
        [(messages.complaint_button_label(t, c.reference, c.status), f"{VIEW_PREFIX}:{c.id}:show")]
        for c in rows
    ]
    turn.reply(messages.complaints_list(t, lines), messages.inline(buttons))


async def press_view(ctx: ServiceContext, turn: Turn, participant: Participant, data: str) -> bool:
    """A button on one of his complaints: show it, "I'm satisfied", "I'm not satisfied"."""
    try:
        _prefix, complaint_id, action = data.split(":", 2)
    except ValueError:
        return False
    complaint = await _own_complaint(turn.session, participant, complaint_id)
    if complaint is None:
        return False
    t = turn.t
    if action == "show":
        turn.reply(_history(ctx, t, complaint), messages.main_menu(t))
    elif action == "sat":
        try:
            complaint.status = rules.satisfied(complaint.status)
        except Conflict:
            return False
        complaint.closed_at = turn.now
        add_entry(turn.session, complaint, "participant", "satisfied", None, turn.now)
        turn.reply(messages.complaint_satisfied(t, complaint.reference), messages.main_menu(t))
    elif action == "unsat":
        chief = role_title(ctx, Role.CHIEF_OFFICER)
        try:
            rules.check_can_escalate(
                complaint.stage,
                complaint.status,
                complaint.escalation_open_until,
                _today(ctx, turn),
            )
        except Conflict:
            if complaint.stage != 1:
                return False
            turn.reply(
                messages.complaint_escalation_too_late(t, chief, ctx.profile.area.address),
                messages.main_menu(t),
            )
            return True
        conversation = await conversations.start(
            turn, ESCALATE_KIND, "reason", {"complaint_id": complaint.id}
        )
        rows = [[(t._(messages.BUTTON_CANCEL), _data(conversation.token, "cancel"))]]
        turn.reply(messages.complaint_ask_escalation_reason(t, chief), messages.inline(rows))
    else:
        return False
    return True


async def press_escalation(
    ctx: ServiceContext, turn: Turn, participant: Participant, data: str
) -> bool:
    """Send or cancel, once he has written why he is not satisfied."""
    parsed = conversations.parse_button(data)
    if parsed is None:
        return False
    token, action, _value = parsed
    conversation = await conversations.current(turn, ESCALATE_KIND, token)
    if conversation is None:
        return False
    if action == "cancel":
        await conversations.cancel(turn, ESCALATE_KIND)
        return True
    if action != "send" or conversation.step != "confirm":
        return False
    await conversations.end(turn, ESCALATE_KIND)
    return await _escalate(ctx, turn, participant, conversation.data)


async def escalation_reason(
    ctx: ServiceContext, turn: Turn, participant: Participant, text: str
) -> bool:
    """Why he is not satisfied: shown back to him to check before it goes to stage 2."""
    conversation = await conversations.current(turn, ESCALATE_KIND)
    if conversation is None or conversation.step != "reason":
        return False
    t, token = turn.t, conversation.token
    if len(text) > rules.MAX_DESCRIPTION:
        turn.reply(messages.complaint_details_too_long(t, rules.MAX_DESCRIPTION))
        return True
    complaint = await _own_complaint(
        turn.session, participant, str(conversation.data["complaint_id"])
    )
    if complaint is None:
        return False
    conversations.advance(turn, conversation, "confirm", reason=text.strip())
    chief = role_title(ctx, Role.CHIEF_OFFICER)
    rows = [
        [(t._(messages.BUTTON_SEND), _data(token, "send"))],
        [(t._(messages.BUTTON_CANCEL), _data(token, "cancel"))],
    ]
    turn.reply(
        messages.complaint_escalation_check(t, complaint.reference, chief, text.strip()),
        messages.inline(rows),
    )
    return True


async def _escalate(
    ctx: ServiceContext, turn: Turn, participant: Participant, data: dict[str, Any]
) -> bool:
    """Stage 2: the Chief Officer's queue, with new deadlines from today."""
    t = turn.t
    complaint = await _own_complaint(turn.session, participant, str(data["complaint_id"]))
    if complaint is None:
        return False
    chief = role_title(ctx, Role.CHIEF_OFFICER)
    today = _today(ctx, turn)
    try:
        rules.check_can_escalate(
            complaint.stage, complaint.status, complaint.escalation_open_until, today
        )
    except Conflict:
        turn.reply(
            messages.complaint_escalation_too_late(t, chief, ctx.profile.area.address),
            messages.main_menu(t),
        )
        return True
    due = rules.deadlines(today, 2, ctx.profile.working_calendar(), ctx.profile.complaint_rules)
    complaint.stage, complaint.status = 2, Status.ESCALATED
    complaint.queue, complaint.assignee_id = rules.STAGE_2_ROUTING.queue, None
    complaint.acknowledge_due, complaint.reply_due = due.acknowledge_by, due.reply_by
    complaint.acknowledged_at = complaint.answered_at = complaint.closed_at = None
    complaint.escalation_open_until = None
    add_entry(turn.session, complaint, "participant", "escalation", data["reason"], turn.now)
    complaint.staff_to_tell = turn.staff_to_tell = True
    turn.reply(
        messages.complaint_escalated(t, complaint.reference, chief, due.reply_by),
        messages.main_menu(t),
    )
    return True


# --- helpers ----------------------------------------------------------------------------------


async def _may_open_another(ctx: ServiceContext, turn: Turn, participant: Participant) -> bool:
    """Whether he has fewer than the most open complaints allowed; if not, say so and end
    the complaint he was writing. Checked when he begins one and when he has written it,
    before the summary offers to send it."""
    if await _open_count(turn.session, participant.id) < rules.MAX_OPEN:
        return True
    await conversations.end(turn, KIND)
    turn.reply(
        messages.complaint_too_many_open(turn.t, rules.MAX_OPEN, ctx.profile.area.telephone),
        messages.main_menu(turn.t),
    )
    return False


def _done_cancel(t: Translator, token: str) -> dict[str, Any]:
    return messages.inline(
        [
            [(t._(messages.BUTTON_DONE), _data(token, "done"))],
            [(t._(messages.BUTTON_CANCEL), _data(token, "cancel"))],
        ]
    )


def _ask_details(turn: Turn, token: str) -> None:
    turn.reply(
        messages.complaint_ask_details(turn.t, rules.MAX_DESCRIPTION),
        messages.inline([[(turn.t._(messages.BUTTON_CANCEL), _data(token, "cancel"))]]),
    )


async def _staff_he_deals_with(session: AsyncSession, participant: Participant) -> list[Staff]:
    """His Offender Manager, then the facilitators of his cohort."""
    facilitators = await session.scalars(
        select(Staff)
        .join(CohortStaff, CohortStaff.staff_id == Staff.id)
        .where(CohortStaff.cohort_id == participant.cohort_id, Staff.active.is_(True))
        .order_by(Staff.name)
        # A participant's turn never reads staff's sign-in secrets.
        .options(load_only(Staff.name, raiseload=True))
    )
    om = participant.offender_manager
    return [om, *(s for s in facilitators if s.id != om.id)]


async def _ask_person(turn: Turn, participant: Participant, token: str) -> None:
    t = turn.t
    om_id = participant.offender_manager_id
    rows = [
        [(messages.staff_button_label(t, s.name, s.id == om_id), _data(token, "p", str(s.id)))]
        for s in await _staff_he_deals_with(turn.session, participant)
    ]
    rows += [
        [(t._(messages.BUTTON_SOMEONE_ELSE), _data(token, "p", About.SOMEONE_ELSE.value))],
        [(t._(messages.BUTTON_RATHER_NOT_SAY), _data(token, "p", About.NOT_SAID.value))],
        [(t._(messages.BUTTON_CANCEL), _data(token, "cancel"))],
    ]
    turn.reply(messages.complaint_choose_person(t), messages.inline(rows))


async def _person(
    session: AsyncSession, participant: Participant, value: str
) -> tuple[About, int | None, str] | None:
    """What the person button means: a member of staff he deals with, or no name."""
    if value in (About.SOMEONE_ELSE.value, About.NOT_SAID.value):
        return About(value), None, ""
    if not value.isdigit():
        return None
    for staff in await _staff_he_deals_with(session, participant):
        if staff.id == int(value):
            return About.STAFF, staff.id, staff.name
    return None


def _summarise(turn: Turn, conversation: Any) -> None:
    t, data, token = turn.t, conversation.data, conversation.token
    text = messages.complaint_summary(
        t, Category(data["category"]), data.get("person"), data["words"], len(data.get("files", []))
    )
    rows = [
        [(t._(messages.BUTTON_SEND), _data(token, "send"))],
        [
            (t._(messages.BUTTON_CHANGE), _data(token, "change")),
            (t._(messages.BUTTON_CANCEL), _data(token, "cancel")),
        ],
    ]
    turn.reply(text, messages.inline(rows))


async def _send(
    ctx: ServiceContext, turn: Turn, participant: Participant, data: dict[str, Any]
) -> None:
    t = turn.t
    category = Category(data["category"])
    about_staff_id = data.get("about_staff_id")
    routing = rules.route(category, about_staff_id, participant.offender_manager_id)
    today = _today(ctx, turn)
    due = rules.deadlines(today, 1, ctx.profile.working_calendar(), ctx.profile.complaint_rules)
    complaint = Complaint(
        # Drawn, not looked up: in the rare clash with an older one the unique key stops
        # the commit and the turn runs again with a new draw (see ChatService._handle).
        reference=rules.new_reference("C"),
        participant_id=participant.id,
        category=category,
        about=About(data["about"]),
        about_staff_id=about_staff_id,
        stage=1,
        status=Status.RECEIVED,
        queue=routing.queue,
        assignee_id=routing.assignee_id,
        received_at=turn.now,
        acknowledge_due=due.acknowledge_by,
        reply_due=due.reply_by,
    )
    complaint.participant = participant
    complaint.staff_to_tell = turn.staff_to_tell = True
    turn.session.add(complaint)
    await turn.session.flush()
    add_entry(turn.session, complaint, "participant", "description", data["words"], turn.now)
    for file in data.get("files", []):
        turn.session.add(
            Attachment(
                complaint_id=complaint.id,
                telegram_file_id=file["file_id"],
                file_name=file["file_name"],
                mime_type=file["mime_type"],
                size=file["size"],
                received_at=turn.now,
            )
        )
    handler = handler_title(ctx, complaint, 1)
    turn.reply(
        messages.complaint_received(t, complaint.reference, due.reply_by, handler),
        messages.main_menu(t),
    )


# Complaints `tell_staff` takes in one transaction.
TELL_AT_ONCE = 100


async def tell_staff(ctx: ServiceContext) -> int:
    """Tell the staff who may see them of complaints sent or escalated since the last call;
    returns how many. Each is taken in the same transaction as its notices, so with several
    processes each is told once."""
    async with ctx.uow() as session:
        waiting = select(Complaint.id).where(Complaint.staff_to_tell).limit(TELL_AT_ONCE)
        if not list(await session.scalars(waiting)):
            return 0  # the usual case, read without taking SQLite's write lock
        taken = await session.scalars(
            update(Complaint)
            .where(Complaint.id.in_(waiting), Complaint.staff_to_tell)
            .values(staff_to_tell=False)
            .returning(Complaint)
            .execution_options(synchronize_session=False)
        )
        complaints = list(taken)
        for complaint in complaints:
            await _notify_queue(ctx, session, complaint)
        await session.commit()
    ctx.on_outbox_written()
    return len(complaints)


async def _notify_queue(ctx: ServiceContext, session: AsyncSession, complaint: Complaint) -> None:
    """A Telegram notice to everyone who may see it in their queue, never the person named."""
    query = (
        select(Staff)
        .where(Staff.active.is_(True), Staff.telegram_chat_id.is_not(None))
        .options(load_only(Staff.role, Staff.active, Staff.telegram_chat_id, raiseload=True))
    )
    if complaint.assignee_id is not None:
        query = query.where(Staff.id == complaint.assignee_id)
    else:
        query = query.where(Staff.role == complaint.queue)
    facts = visibility(complaint)
    for staff in await session.scalars(query):
        if rules.can_see(staff.id, staff.role, facts):
            notify_staff(ctx, session, staff)


def visibility(complaint: Complaint) -> rules.Visibility:
    return rules.Visibility(
        stage=complaint.stage,
        queue=complaint.queue,
        assignee_id=complaint.assignee_id,
        about_staff_id=complaint.about_staff_id,
        category=complaint.category,
    )


def _history(ctx: ServiceContext, t: Translator, complaint: Complaint) -> str:
    zone = ctx.profile.zone
    awaiting = complaint.status.awaiting_reply
    lines = [
        messages.complaint_history_header(
            t,
            complaint.reference,
            complaint.category,
            complaint.stage,
            complaint.status,
            complaint.reply_due if awaiting else None,
        )
    ]
    for entry in complaint.entries:
        day = entry.at.astimezone(zone).date()
        if entry.kind == "description":
            lines.append(messages.history_you_wrote(t, day, entry.text or ""))
        elif entry.kind == "reply":
            handler = handler_title(ctx, complaint, entry.stage)
            lines.append(messages.history_reply(t, day, handler, entry.text or ""))
        elif entry.kind == "acknowledged":
            lines.append(messages.history_acknowledged(t, day))
        elif entry.kind == "escalation":
            lines.append(messages.history_escalated(t, day, entry.text or ""))
        elif entry.kind in ("satisfied", "closed"):
            lines.append(messages.history_closed(t, day))
    text = "\n\n".join(lines)
    # One Telegram message holds 4,096 characters; the newest part matters most.
    return text if len(text) <= 4000 else "…" + text[-3999:]


async def _own_complaint(
    session: AsyncSession, participant: Participant, complaint_id: str
) -> Complaint | None:
    if not complaint_id.isdigit():
        return None
    complaint: Complaint | None = await session.scalar(
        select(Complaint)
        .where(Complaint.id == int(complaint_id), Complaint.participant_id == participant.id)
        .options(selectinload(Complaint.entries), selectinload(Complaint.participant))
    )
    return complaint


def _open_count_query(participant_id: int) -> Select[int]:
    """His complaints still waiting for an answer (answered ones do not hold him back)."""
    waiting = [status for status in Status if status.awaiting_reply]
    return (
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.participant_id == participant_id, Complaint.status.in_(waiting))
    )


async def _open_count(session: AsyncSession, participant_id: int) -> int:
    return int(await session.scalar(_open_count_query(participant_id)) or 0)


async def free_reference(
    session: AsyncSession, model: type[Complaint | FormatRequest], prefix: str
) -> str:
    """A new reference not used yet, e.g. "C-7K3QX" or "F-2M9PA"."""
    for _ in range(10):
        reference = rules.new_reference(prefix)
        taken = await session.scalar(select(model.id).where(model.reference == reference))
        if taken is None:
            return reference
    raise Conflict("Could not find a free reference; try again.")


def add_entry(
    session: AsyncSession,
    complaint: Complaint,
    author: str,
    kind: str,
    text: str | None,
    at: datetime,
) -> ComplaintEntry:
    """One step in the complaint's history, at its current stage."""
    entry = ComplaintEntry(
        complaint_id=complaint.id,
        kind=kind,
        stage=complaint.stage,
        author=author,
        text=text,
        at=at,
    )
    session.add(entry)
    if "entries" in complaint.__dict__:  # keep a loaded history in step
        complaint.entries.append(entry)
    return entry


def _today(ctx: ServiceContext, turn: Turn) -> date:
    return turn.now.astimezone(ctx.profile.zone).date()
