"""Reporting an absence: a short guided conversation kept in the database.

Steps: session → reason → his own words (optional when ill) → check and send. Every step is
one update handled in one transaction, so a restart in between loses nothing, and a button
from an older conversation (or a finished one) is recognised as stale.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from bot import messages
from bot.db.models import AbsenceReport, Conversation, Participant, ScheduledSession
from bot.domain.absence import (
    AbsenceStatus,
    Reason,
    SessionSlot,
    in_report_window,
    reportable_sessions,
)
from bot.domain.absence import self_certificate_due as sick_note_due
from bot.i18n import Translator
from bot.services import conversations
from bot.services.context import ServiceContext
from bot.services.notices import notify_staff
from bot.services.turns import Turn, om_contact

KIND = "absence"
PREFIX = "abs"
# The token of a reminder's "I can't attend" button, which starts a new conversation.
NEW = "new"


def _data(token: str, action: str, value: str = "") -> str:
    return conversations.button(PREFIX, token, action, value)


MAX_DETAILS = 1000


async def begin(ctx: ServiceContext, turn: Turn, participant: Participant) -> None:
    """Offer the sessions he can report (recently missed, or the next few), and show the
    ones he already reported so he can see what he told us."""
    slots, reported = await _slots_and_reports(turn, participant)
    offered = reportable_sessions(slots, set(reported), turn.now)
    told = [s for s in slots if s.session_id in reported and in_report_window(s, turn.now)]
    if not offered and not told:
        await conversations.end(turn, KIND)
        turn.reply(
            messages.absence_no_sessions(turn.t, om_contact(participant)),
            messages.main_menu(turn.t),
        )
        return
    conversation = await conversations.start(turn, KIND, "session")
    zone, t = ctx.profile.zone, turn.t
    rows = [
        [
            (
                messages.reported_session_label(t, s.starts_at.astimezone(zone))
                if s.session_id in reported
                else messages.session_label(t, s.starts_at.astimezone(zone)),
                _data(conversation.token, "s", str(s.session_id)),
            )
        ]
        for s in sorted(offered + told, key=lambda s: s.starts_at)
    ]
    rows.append([(t._(messages.BUTTON_CANCEL), _data(conversation.token, "cancel"))])
    turn.reply(messages.absence_choose_session(t), messages.inline(rows))


def cant_attend_button(t: Translator, session_id: int) -> dict[str, Any]:
    """The "I can't attend" button under a reminder: opens a report for that session."""
    return messages.inline(
        [
            [
                (
                    t._(messages.BUTTON_CANT_ATTEND),
                    _data(NEW, "s", str(session_id)),
                )
            ]
        ]
    )


async def press(ctx: ServiceContext, turn: Turn, participant: Participant, data: str) -> bool:
    """Handle one of the conversation's buttons; False when the button is stale."""
    parsed = conversations.parse_button(data)
    if parsed is None:
        return False
    token, action, value = parsed
    if token == NEW:
        # A reminder's button: a new conversation that starts with its session chosen.
        return action == "s" and await _choose_session(ctx, turn, participant, None, value)
    conversation = await conversations.current(turn, KIND, token)
    if conversation is None:
        return False
    t = turn.t
    if action == "cancel":
        await conversations.cancel(turn, KIND)
    elif action == "s" and conversation.step == "session":
        return await _choose_session(ctx, turn, participant, conversation, value)
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
    conversations.touch(turn, conversation)
    return True


async def details(ctx: ServiceContext, turn: Turn, participant: Participant, text: str) -> bool:
    """His own words, when the conversation is waiting for them; False otherwise."""
    conversation = await conversations.current(turn, KIND)
    if conversation is None or conversation.step != "details":
        return False
    if len(text) > MAX_DETAILS:
        turn.reply(messages.too_long(turn.t))
        return True
    await _summarise(ctx, turn, conversation, text.strip())
    return True


async def _choose_session(
    ctx: ServiceContext,
    turn: Turn,
    participant: Participant,
    conversation: Conversation | None,
    value: str,
) -> bool:
    """He picked a session: show his earlier report for it, or ask why he cannot come."""
    if not value.isdigit():
        return False
    # His cohort's sessions and his reports in one query; a session of another cohort (an
    # old button) is looked up on its own.
    slots, reported = await _slots_and_reports(turn, participant)
    existing = reported.get(int(value))
    if existing is None and all(s.session_id != int(value) for s in slots):
        existing = await _existing_report(turn, participant, int(value))
    if existing is not None:
        await conversations.end(turn, KIND)
        _show_existing(ctx, turn, existing)
        return True
    slot = next(
        (
            s
            for s in reportable_sessions(slots, set(reported), turn.now)
            if s.session_id == int(value)
        ),
        None,
    )
    if slot is None:
        return False
    conversation = conversation or await conversations.start(turn, KIND, "session")
    conversation.data = {"session_id": slot.session_id}
    conversation.step = "reason"
    conversations.touch(turn, conversation)
    _ask_reason(turn, conversation.token)
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
    conversations.touch(turn, conversation)
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
    session, existing = await _session_and_report(
        turn, participant, conversation.data["session_id"]
    )
    reason = Reason(conversation.data["reason"])
    await conversations.end(turn, KIND)
    t, zone = turn.t, ctx.profile.zone
    if existing is not None:
        _show_existing(ctx, turn, existing)
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
        session=session,
        reason=reason,
        details=conversation.data.get("details"),
        status=AbsenceStatus.REPORTED,
        reported_at=turn.now,
        self_certificate_due=due,
    )
    # No audit entry: the report is its own record of what he did and when. The audit log
    # is for what staff do, and for his settings, which keep no history of their own.
    turn.session.add(report)
    notify_staff(ctx, turn.session, participant.offender_manager)
    turn.reply(messages.absence_sent(t, om_contact(participant)), messages.main_menu(t))
    if due is not None:
        turn.reply(messages.absence_sick_note(t, due))


async def _slots_and_reports(
    turn: Turn, participant: Participant
) -> tuple[list[SessionSlot], dict[int, AbsenceReport]]:
    """His cohort's sessions, and his report (with its session) for each one he reported."""
    rows = await turn.session.execute(
        select(ScheduledSession, AbsenceReport)
        .outerjoin(
            AbsenceReport,
            (AbsenceReport.session_id == ScheduledSession.id)
            & (AbsenceReport.participant_id == participant.id),
        )
        .where(ScheduledSession.cohort_id == participant.cohort_id)
    )
    slots, reported = [], {}
    for scheduled, report in rows:
        slots.append(SessionSlot(scheduled.id, scheduled.number, scheduled.starts_at))
        if report is not None:
            set_committed_value(report, "session", scheduled)
            reported[scheduled.id] = report
    return slots, reported


async def _session_and_report(
    turn: Turn, participant: Participant, session_id: int
) -> tuple[ScheduledSession, AbsenceReport | None]:
    """The session, and his report for it if he already sent one: one query."""
    session, report = (
        await turn.session.execute(
            select(ScheduledSession, AbsenceReport)
            .outerjoin(
                AbsenceReport,
                (AbsenceReport.session_id == ScheduledSession.id)
                & (AbsenceReport.participant_id == participant.id),
            )
            .where(ScheduledSession.id == session_id)
        )
    ).one()
    if report is not None:
        set_committed_value(report, "session", session)
    return session, report


async def _existing_report(
    turn: Turn, participant: Participant, session_id: int
) -> AbsenceReport | None:
    report: AbsenceReport | None = await turn.session.scalar(
        select(AbsenceReport)
        .where(
            AbsenceReport.participant_id == participant.id,
            AbsenceReport.session_id == session_id,
        )
        .options(selectinload(AbsenceReport.session))
    )
    return report


def _show_existing(ctx: ServiceContext, turn: Turn, report: AbsenceReport) -> None:
    """A second report for the same session is refused by showing the first one."""
    text = messages.absence_already_reported(
        turn.t, report.session.starts_at.astimezone(ctx.profile.zone), report.reason, report.status
    )
    turn.reply(text, messages.main_menu(turn.t))
