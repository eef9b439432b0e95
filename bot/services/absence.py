"""Reporting an absence: a short guided conversation kept in the database.

Steps: session → reason → his own words (optional when ill) → check and send. Every step is
one update handled in one transaction, so a restart in between loses nothing, and a button
from an older conversation (or a finished one) is recognised as stale.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from bot import messages
from bot.db.models import AbsenceReport, Conversation, Participant, ScheduledSession
from bot.domain.absence import AbsenceStatus, Reason, SessionSlot, reportable_sessions
from bot.domain.absence import self_certificate_due as sick_note_due
from bot.services.context import ServiceContext, audit
from bot.services.turns import Turn, om_contact

KIND = "absence"
PREFIX = "abs"
MAX_DETAILS = 1000


def _data(token: str, action: str, value: str = "") -> str:
    return f"{PREFIX}:{token}:{action}:{value}"


async def begin(ctx: ServiceContext, turn: Turn, participant: Participant) -> None:
    """Offer the sessions he can report (recently missed, or the next few)."""
    sessions = await _reportable(ctx, turn, participant)
    if not sessions:
        await _end(turn)
        turn.reply(
            messages.absence_no_sessions(turn.t, om_contact(participant)),
            messages.main_menu(turn.t),
        )
        return
    token = secrets.token_hex(4)
    conversation = await turn.session.get(Conversation, turn.inbound.user_id)
    if conversation is None:
        conversation = Conversation(telegram_user_id=turn.inbound.user_id)
        turn.session.add(conversation)
    conversation.token, conversation.kind, conversation.step = token, KIND, "session"
    conversation.data, conversation.updated_at = {}, turn.now
    zone = ctx.profile.zone
    rows = [
        [
            (
                messages.session_label(turn.t, s.starts_at.astimezone(zone)),
                _data(token, "s", str(s.session_id)),
            )
        ]
        for s in sessions
    ]
    rows.append([(turn.t._(messages.BUTTON_CANCEL), _data(token, "cancel"))])
    turn.reply(messages.absence_choose_session(turn.t), messages.inline(rows))


async def press(ctx: ServiceContext, turn: Turn, participant: Participant, data: str) -> bool:
    """Handle one of the conversation's buttons; False when the button is stale."""
    try:
        _prefix, token, action, value = data.split(":", 3)
    except ValueError:
        return False
    conversation = await turn.session.get(Conversation, turn.inbound.user_id)
    if conversation is None or conversation.kind != KIND or conversation.token != token:
        return False
    t = turn.t
    if action == "cancel":
        await _end(turn)
        turn.reply(messages.absence_cancelled(t), messages.main_menu(t))
    elif action == "s" and conversation.step == "session":
        slot = await _slot(ctx, turn, participant, value)
        if slot is None:
            return False
        conversation.data = {"session_id": slot.session_id}
        conversation.step = "reason"
        _ask_reason(turn, token)
    elif action == "r" and conversation.step == "reason" and value in set(Reason):
        reason = Reason(value)
        conversation.data = {**conversation.data, "reason": reason.value}
        conversation.step = "details"
        rows = [[(t._(messages.BUTTON_CANCEL), _data(token, "cancel"))]]
        if not reason.details_required:
            rows.insert(0, [(t._(messages.BUTTON_SKIP), _data(token, "skip"))])
        turn.reply(
            messages.absence_ask_details(t, not reason.details_required), messages.inline(rows)
        )
    elif action == "skip" and conversation.step == "details":
        if Reason(conversation.data["reason"]).details_required:
            return False
        await _summarise(ctx, turn, conversation, None)
    elif action == "change" and conversation.step == "confirm":
        conversation.data = {}
        conversation.step = "session"
        await begin(ctx, turn, participant)
    elif action == "send" and conversation.step == "confirm":
        await _send(ctx, turn, participant, conversation)
    else:
        return False
    conversation.updated_at = turn.now
    return True


async def details(ctx: ServiceContext, turn: Turn, participant: Participant, text: str) -> bool:
    """His own words, when the conversation is waiting for them; False otherwise."""
    conversation = await turn.session.get(Conversation, turn.inbound.user_id)
    if conversation is None or conversation.kind != KIND or conversation.step != "details":
        return False
    if len(text) > MAX_DETAILS:
        turn.reply(messages.too_long(turn.t))
        return True
    await _summarise(ctx, turn, conversation, text.strip())
    return True


def _ask_reason(turn: Turn, token: str) -> None:
    t = turn.t
    rows = [
        [(t._(label), _data(token, "r", reason.value))]
        for reason, label in messages.REASON_LABELS.items()
    ]
    rows.append([(t._(messages.BUTTON_CANCEL), _data(token, "cancel"))])
    turn.reply(messages.absence_choose_reason(t), messages.inline(rows))


async def _summarise(
    ctx: ServiceContext, turn: Turn, conversation: Conversation, words: str | None
) -> None:
    conversation.data = {**conversation.data, "details": words}
    conversation.step = "confirm"
    conversation.updated_at = turn.now
    session = await turn.session.get_one(ScheduledSession, conversation.data["session_id"])
    t = turn.t
    text = messages.absence_summary(
        t,
        session.starts_at.astimezone(ctx.profile.zone),
        Reason(conversation.data["reason"]),
        words,
    )
    token = conversation.token
    rows = [
        [(t._(messages.BUTTON_SEND), _data(token, "send"))],
        [
            (t._(messages.BUTTON_CHANGE), _data(token, "change")),
            (t._(messages.BUTTON_CANCEL), _data(token, "cancel")),
        ],
    ]
    turn.reply(text, messages.inline(rows))


async def _send(
    ctx: ServiceContext, turn: Turn, participant: Participant, conversation: Conversation
) -> None:
    """Store the report (once per session) and tell him what to do next."""
    session = await turn.session.get_one(ScheduledSession, conversation.data["session_id"])
    reason = Reason(conversation.data["reason"])
    await _end(turn)
    t, zone = turn.t, ctx.profile.zone
    existing = await turn.session.scalar(
        select(AbsenceReport).where(
            AbsenceReport.participant_id == participant.id,
            AbsenceReport.session_id == session.id,
        )
    )
    if existing is not None:
        text = messages.absence_already_reported(
            t, session.starts_at.astimezone(zone), existing.reason
        )
        turn.reply(text, messages.main_menu(t))
        return
    due = None
    if reason is Reason.ILL:
        due = sick_note_due(
            session.starts_at.astimezone(zone).date(),
            ctx.profile.working_calendar(),
            ctx.profile.programme.self_cert_working_days,
        )
    report = AbsenceReport(
        participant_id=participant.id,
        session_id=session.id,
        reason=reason,
        details=conversation.data.get("details"),
        status=AbsenceStatus.REPORTED,
        reported_at=turn.now,
        self_certificate_due=due,
    )
    turn.session.add(report)
    await turn.session.flush()
    audit(
        turn.session,
        f"participant:{participant.id}",
        "absence.report",
        f"absence:{report.id}",
        reason=reason.value,
    )
    turn.reply(messages.absence_sent(t, om_contact(participant)), messages.main_menu(t))
    if due is not None:
        turn.reply(messages.absence_sick_note(t, due))


async def _end(turn: Turn) -> None:
    conversation = await turn.session.get(Conversation, turn.inbound.user_id)
    if conversation is not None:
        await turn.session.delete(conversation)


async def _reportable(
    ctx: ServiceContext, turn: Turn, participant: Participant
) -> list[SessionSlot]:
    rows = await turn.session.execute(
        select(ScheduledSession.id, ScheduledSession.number, ScheduledSession.starts_at).where(
            ScheduledSession.cohort_id == participant.cohort_id
        )
    )
    reported = set(
        await turn.session.scalars(
            select(AbsenceReport.session_id).where(AbsenceReport.participant_id == participant.id)
        )
    )
    slots = [SessionSlot(session_id, number, starts_at) for session_id, number, starts_at in rows]
    return reportable_sessions(slots, reported, turn.now)


async def _slot(
    ctx: ServiceContext, turn: Turn, participant: Participant, value: str
) -> SessionSlot | None:
    """The chosen session, if it is still one he may report."""
    if not value.isdigit():
        return None
    for slot in await _reportable(ctx, turn, participant):
        if slot.session_id == int(value):
            return slot
    return None
