"""Reporting an absence by buttons, end to end."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.db.models import AbsenceReport
from bot.domain.absence import AbsenceStatus, Reason
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
