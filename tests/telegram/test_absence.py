"""Reporting an absence by buttons, end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import holidays
import pytest
from babel.dates import format_date
from sqlalchemy import select

from bot.db.models import AbsenceReport, Attendance, AuditEntry
from bot.domain.absence import AbsenceStatus, Decision, Reason
from bot.domain.errors import Conflict
from bot.sandbox.server import SandboxUser, SentMessage
from bot.services import absence_review, admin
from tests.telegram.conftest import Harness, button_data, button_labels


async def _reports(harness: Harness) -> list[AbsenceReport]:
    async with harness.core.services.uow() as session:
        return list(await session.scalars(select(AbsenceReport)))


async def test_full_report_by_buttons(harness: Harness) -> None:
    user = harness.sandbox.user(6001, "Sam")
    await harness.enrol(user)
    [sessions] = await harness.say(user, "I can't come")
    assert sessions.text == "Which session can you not come to? Tap one below."
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "Work")
    assert "few words" in (ask.text or "")
    [summary] = await harness.say(user, "My boss changed my shift")
    assert summary.text == (
        "Please check your report.\n"
        "Session: Thursday, 3 December 2026 at 18:00\n"
        "Reason: Work\n"
        "Your words: My boss changed my shift"
    )
    sent = await harness.tap(user, summary, "Send it")
    assert (sent.text or "").startswith(
        "Thank you. Your report has been sent to your Offender Manager, Dana Fictional."
    )
    assert "call them straight away: 01234 567890" in (sent.text or "")
    [report] = await _reports(harness)
    assert (report.reason, report.details, report.status) == (
        Reason.WORK,
        "My boss changed my shift",
        AbsenceStatus.REPORTED,
    )
    # The same confirm button pressed again does nothing harmful.
    before = len(user.messages())
    update_id = user.press(summary.message_id, button_data(summary, "Send it"))
    await harness.sandbox.wait_for_call("answerCallbackQuery", count=4)
    assert "does not work any more" in (harness.sandbox.callback_answer(update_id) or {}).get(
        "text", ""
    )
    assert len(user.messages()) == before
    assert len(await _reports(harness)) == 1


async def test_illness_shows_the_sick_note_date(harness: Harness) -> None:
    user = harness.sandbox.user(6002, "Sam")
    await harness.enrol(user)
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "I am ill")
    summary = await harness.tap(user, ask, "Skip")
    before = len(user.messages())
    user.press(summary.message_id, button_data(summary, "Send it"))
    _sent, note = await harness.replies(user, before, 2)
    due = harness.core.profile.working_calendar().deadline(date(2026, 12, 3), 5)
    assert due == date(2026, 12, 10)
    assert note.text == (
        "You are ill, so you need a sick note (a self-certificate). "
        "Your Offender Manager must get it by Thursday, 10 December 2026."
    )
    [report] = await _reports(harness)
    assert report.self_certificate_due == due


async def test_cancel_midway_sends_nothing(harness: Harness) -> None:
    user = harness.sandbox.user(6003, "Sam")
    await harness.enrol(user)
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    cancelled = await harness.tap(user, reasons, "Cancel")
    assert cancelled.text == "OK. Nothing has been sent."
    assert await _reports(harness) == []
    [reply] = await harness.say(user, "some words")
    assert (reply.text or "").startswith("Sorry, I did not understand that.")


async def test_a_second_report_for_a_session_is_refused_showing_the_first(
    harness: Harness,
) -> None:
    user = harness.sandbox.user(6004, "Sam")
    await harness.enrol(user)
    [first] = await harness.say(user, "/absence")
    [second] = await harness.say(user, "/absence")
    # Finish the second conversation; the first one's buttons are now stale.
    reasons = await harness.tap(user, second, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "Travel problem")
    assert "few words" in (ask.text or "")
    [summary] = await harness.say(user, "No buses")
    await harness.tap(user, summary, "Send it")
    before = len(user.messages())
    update_id = user.press(
        first.message_id, button_data(first, "Thursday, 3 December 2026 at 18:00")
    )
    await harness.sandbox.wait_until_idle()
    assert len(user.messages()) == before
    assert "does not work any more" in (harness.sandbox.callback_answer(update_id) or {}).get(
        "text", ""
    )
    # Asked again, the reported session is marked, and choosing it shows his report.
    [again] = await harness.say(user, "/absence")
    labels = button_labels(again)
    assert "Thursday, 3 December 2026 at 18:00 (already told)" in labels
    assert "Thursday, 10 December 2026 at 18:00" in labels
    shown = await harness.tap(user, again, "Thursday, 3 December 2026 at 18:00 (already told)")
    assert shown.text == (
        "You have already told us about the session on Thursday, 3 December 2026 at 18:00. "
        "Your reason was: Travel problem. You do not need to tell us again.\n\n"
        "Your Offender Manager has not decided about it yet."
    )
    assert len(await _reports(harness)) == 1


async def test_missed_session_in_the_last_two_weeks_can_be_reported(harness: Harness) -> None:
    user = harness.sandbox.user(6005, "Sam")
    await harness.enrol(user)
    harness.clock.advance(timedelta(days=10))  # now 4 December: session 1 was last night
    [sessions] = await harness.say(user, "/absence")
    labels = button_labels(sessions)
    assert labels[0] == "Thursday, 3 December 2026 at 18:00"


async def test_a_restart_mid_conversation_continues_where_he_was(harness: Harness) -> None:
    user = harness.sandbox.user(6006, "Sam")
    await harness.enrol(user)
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "Family emergency")
    assert ask is not None
    await harness.restart_bot()
    [summary] = await harness.say(user, "My mother is in hospital")
    assert (summary.text or "").endswith("Your words: My mother is in hospital")


def _fifth_working_day_after(day: date) -> date:
    """Counted here from the `holidays` package directly, not through the bot's calendar."""
    bank_holidays = holidays.country_holidays("GB", subdiv="ENG", years=[day.year, day.year + 1])
    counted = 0
    while counted < 5:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in bank_holidays:
            counted += 1
    return day


def _thursday_before(holiday_name: str, year: int) -> date:
    bank_holidays = holidays.country_holidays("GB", subdiv="ENG", years=year)
    [day] = [d for d, name in bank_holidays.items() if name == holiday_name]
    while day.weekday() != 3:
        day -= timedelta(days=1)
    return day


async def _report_illness(harness: Harness, user: SandboxUser, session_day: date) -> SentMessage:
    """Report being ill for the session on `session_day`; returns the sick-note message."""
    label = f"{format_date(session_day, 'full', locale='en_GB')} at 18:00"
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, label)
    ask = await harness.tap(user, reasons, "I am ill")
    summary = await harness.tap(user, ask, "Skip")
    before = len(user.messages())
    user.press(summary.message_id, button_data(summary, "Send it"))
    _sent, note = await harness.replies(user, before, 2)
    return note


@pytest.mark.parametrize("holiday", ["Christmas Day", "Good Friday"])
async def test_sick_note_date_skips_the_bank_holidays(harness: Harness, holiday: str) -> None:
    user = harness.sandbox.user(6007, "Sam")
    await harness.enrol(user)
    session_day = _thursday_before(holiday, 2026 if holiday == "Christmas Day" else 2027)
    harness.clock.now = datetime.combine(session_day - timedelta(days=1), time(12), tzinfo=UTC)
    note = await _report_illness(harness, user, session_day)
    due = _fifth_working_day_after(session_day)
    # Five working days after the session, with the holiday weekend in between, is later
    # than a plain week.
    assert due > session_day + timedelta(days=7)
    assert note.text == (
        "You are ill, so you need a sick note (a self-certificate). "
        f"Your Offender Manager must get it by {format_date(due, 'full', locale='en_GB')}."
    )


async def _sent_report(harness: Harness, user: SandboxUser) -> AbsenceReport:
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    await harness.tap(user, reasons, "Work")
    [summary] = await harness.say(user, "Shift changed")
    await harness.tap(user, summary, "Send it")
    [report] = await _reports(harness)
    return report


@pytest.mark.parametrize("decision", list(Decision))
async def test_a_decision_reaches_him_in_neutral_words(
    harness: Harness, decision: Decision
) -> None:
    user = harness.sandbox.user(6008, "Sam")
    await harness.enrol(user)
    report = await _sent_report(harness, user)
    before = len(user.messages())
    view = await absence_review.decide_absence(
        harness.core.services, "staff:om", report.id, decision, "See you next week."
    )
    assert view.status == decision.value
    [told] = await harness.replies(user, before)
    text = told.text or ""
    first_line = text.split("\n", 1)[0]
    assert first_line == "Update about your session on Thursday, 3 December 2026 at 18:00."
    assert text.endswith("Message from your Offender Manager: See you next week.")
    if decision is Decision.ACCEPTABLE:
        assert "has accepted your reason" in text and "court" not in text
    else:
        assert "has not accepted your reason" in text
        assert "can lead to a warning" in text and "go back to court" in text
        assert "will talk to you about what happens next" in text
    # The decision is also the session's attendance outcome, and uses a catch-up.
    [progress] = await harness.say(user, "/progress")
    assert "You have used 1 of your 4 catch-ups." in (progress.text or "")
    with pytest.raises(Conflict, match="already"):
        await absence_review.decide_absence(
            harness.core.services, "staff:om", report.id, decision, None
        )
    async with harness.core.services.uow() as session:
        outcome = await session.scalar(select(Attendance.outcome))
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert outcome is decision.outcome
    # The decision is audited; his report is its own record (reported_at), not audited.
    assert "absence.decide" in actions and "absence.report" not in actions


async def test_his_offender_manager_is_told_by_telegram_once_linked(harness: Harness) -> None:
    om = harness.sandbox.user(6090, "Dana")
    code = await admin.issue_staff_code(harness.core.services, "cli:admin", "om@example.org", None)
    [linked] = await harness.say(om, f"/start {code.code}")
    assert (linked.text or "").startswith("Hello, Dana Fictional. This chat will now send you")
    [other] = await harness.say(om, "hello")
    assert other.text == "This chat only sends you notices. Please use the dashboard to answer."
    user = harness.sandbox.user(6009, "Sam")
    await harness.enrol(user)
    before = len(om.messages())
    await _sent_report(harness, user)
    [notice] = await harness.replies(om, before)
    # Neutral: no name, no reason, none of his words; the content stays in the queue.
    assert notice.text == "New item in your queue."
