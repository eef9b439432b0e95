"""Session, catch-up and sick-note reminders, moved along with a test clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import build_core
from bot.config import Profile
from bot.db.models import Attachment, AuditEntry, OutboxMessage
from bot.domain.attendance import Outcome
from bot.sandbox.server import SandboxUser, SentMessage
from bot.services import absence_review, admin, reminders
from bot.services.reminders import queue_due_reminders
from tests.conftest import FakeClock
from tests.telegram.conftest import ACTOR, Harness, button_data, button_labels, running_harness

# The test cohort meets on Thursdays at 18:00 (London, which is UTC in winter).
EVENING_BEFORE = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
TWO_HOURS_BEFORE = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


@pytest.fixture
async def harness(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Harness]:
    # The tests run the scheduler's pass themselves, at the times they choose.
    async with running_harness(
        database_url, profile, clock, tmp_path, scheduler_interval=3600
    ) as running:
        yield running


async def _run_scheduler(harness: Harness, at: datetime) -> int:
    harness.clock.now = at
    return await queue_due_reminders(harness.core.services)


async def _reminder(harness: Harness, user: SandboxUser, at: datetime) -> SentMessage:
    before = len(user.messages())
    assert await _run_scheduler(harness, at) == 1
    [reminder] = await harness.replies(user, before)
    return reminder


async def test_the_evening_before_and_two_hours_before(harness: Harness) -> None:
    user = harness.sandbox.user(8001, "Sam")
    await harness.enrol(user)
    assert await _run_scheduler(harness, EVENING_BEFORE - timedelta(minutes=1)) == 0
    evening = await _reminder(harness, user, EVENING_BEFORE)
    assert evening.text == (
        "Reminder: you have a group session tomorrow.\n"
        "When: Thursday, 3 December 2026 at 18:00\n"
        "Where: Room 2, Example House\n\n"
        "Please arrive on time and stay to the end.\n"
        "Please come with a clear head: no drugs, alcohol or solvents."
    )
    assert button_labels(evening) == ["I can't attend"]
    # A second pass (or a restart) sends nothing again.
    assert await _run_scheduler(harness, EVENING_BEFORE + timedelta(hours=1)) == 0
    soon = await _reminder(harness, user, TWO_HOURS_BEFORE)
    assert (soon.text or "").startswith("Reminder: your group session starts soon.\n")
    assert await _run_scheduler(harness, TWO_HOURS_BEFORE + timedelta(minutes=30)) == 0
    # The next reminder is for the next week's session.
    assert await _run_scheduler(harness, EVENING_BEFORE + timedelta(days=6)) == 0
    nextweek = await _reminder(harness, user, EVENING_BEFORE + timedelta(days=7))
    assert "When: Thursday, 10 December 2026 at 18:00" in (nextweek.text or "")
    async with harness.core.services.uow() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "reminder.session")
        )
    assert audited == 3


async def test_two_schedulers_at_once_send_each_reminder_once(
    harness: Harness, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written two to a transaction, so the schedulers' chunks interleave.
    monkeypatch.setattr(reminders, "CHUNK", 2)
    users = [harness.sandbox.user(8010 + n, f"Sam{n}") for n in range(7)]
    references = [await harness.enrol(user) for user in users]
    # One man in the middle missed a session: only his reminder says to call first.
    harness.clock.now = datetime(2026, 11, 27, 9, tzinfo=UTC)
    await admin.record_attendance(harness.core.services, ACTOR, references[3], 1, Outcome.ABSENT)
    # A second process: its own engine and services on the same database.
    other = build_core(harness.core.settings, harness.core.profile)
    other.services.clock = harness.clock
    harness.clock.now = EVENING_BEFORE + timedelta(days=7)
    try:
        counts = await asyncio.gather(
            queue_due_reminders(harness.core.services),
            queue_due_reminders(other.services),
            queue_due_reminders(harness.core.services),
        )
    finally:
        await other.close()
    assert sum(counts) == len(users)
    async with harness.core.services.uow() as session:
        queued = (
            await session.execute(
                select(OutboxMessage.chat_id, OutboxMessage.text).where(
                    OutboxMessage.text.like("Reminder:%")
                )
            )
        ).all()
    assert sorted(chat for chat, _ in queued) == sorted(user.chat_id for user in users)
    call_first = [chat for chat, text in queued if "call your Offender Manager" in text]
    assert call_first == [users[3].chat_id]


async def test_no_reminder_for_a_session_he_reported(harness: Harness) -> None:
    user = harness.sandbox.user(8002, "Sam")
    await harness.enrol(user)
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "Work")
    [summary] = await harness.say(user, "New shift")
    await harness.tap(user, summary, "Send it")
    assert ask is not None
    assert await _run_scheduler(harness, EVENING_BEFORE) == 0
    assert await _run_scheduler(harness, TWO_HOURS_BEFORE) == 0


async def test_i_cant_attend_opens_a_report_for_that_session(harness: Harness) -> None:
    user = harness.sandbox.user(8003, "Sam")
    await harness.enrol(user)
    evening = await _reminder(harness, user, EVENING_BEFORE)
    reasons = await harness.tap(user, evening, "I can't attend")
    assert reasons.text == "Why can you not come? Tap one below."
    ask = await harness.tap(user, reasons, "Family emergency")
    [summary] = await harness.say(user, "My son is ill")
    assert "Session: Thursday, 3 December 2026 at 18:00" in (summary.text or "")
    await harness.tap(user, summary, "Send it")
    assert ask is not None
    # Pressed again after reporting, it shows the report instead of starting another.
    shown = await harness.tap(user, evening, "I can't attend")
    assert (shown.text or "").startswith("You have already told us about the session on")
    # And no reminder comes two hours before a session he said he cannot come to.
    assert await _run_scheduler(harness, TWO_HOURS_BEFORE) == 0


async def test_he_chooses_which_reminders_he_gets(harness: Harness) -> None:
    user = harness.sandbox.user(8004, "Sam")
    await harness.enrol(user)
    [choose] = await harness.say(user, "/reminders")
    assert "the evening before, and 2 hours before it starts" in (choose.text or "")
    assert "Now you get: Both" in (choose.text or "")
    saved = await harness.tap(user, choose, "Only on the day")
    assert saved.text == "Saved. You will get: Only on the day"
    assert await _run_scheduler(harness, EVENING_BEFORE) == 0
    soon = await _reminder(harness, user, TWO_HOURS_BEFORE)
    assert (soon.text or "").startswith("Reminder: your group session starts soon.")
    [choose_again] = await harness.say(user, "/reminders")
    none = await harness.tap(user, choose_again, "No reminders")
    assert none.text == "Saved. You will get: No reminders"
    assert await _run_scheduler(harness, EVENING_BEFORE + timedelta(days=7)) == 0
    assert await _run_scheduler(harness, TWO_HOURS_BEFORE + timedelta(days=7)) == 0


async def test_a_booked_catch_up_is_reminded(harness: Harness) -> None:
    user = harness.sandbox.user(8005, "Sam")
    reference = await harness.enrol(user)
    harness.clock.now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    await admin.record_attendance(harness.core.services, ACTOR, reference, 1, Outcome.ABSENT)
    await admin.book_catch_up(
        harness.core.services, ACTOR, reference, 1, datetime(2026, 12, 8, 14, 0), "Room 5"
    )
    reminder = await _reminder(harness, user, datetime(2026, 12, 7, 18, tzinfo=UTC))
    assert reminder.text == (
        "Reminder: you have a catch-up session tomorrow.\n"
        "When: Tuesday, 8 December 2026 at 14:00\n"
        "Where: Room 5\n\n"
        "Please arrive on time and stay to the end.\n"
        "Please come with a clear head: no drugs, alcohol or solvents.\n\n"
        "If you cannot come, call your Offender Manager straight away: 01234 567890"
    )
    # Moved to later: reminded again for the new time.
    await admin.book_catch_up(
        harness.core.services, ACTOR, reference, 1, datetime(2026, 12, 9, 14, 0), "Room 5"
    )
    moved = await _reminder(harness, user, datetime(2026, 12, 8, 18, tzinfo=UTC))
    assert "When: Wednesday, 9 December 2026 at 14:00" in (moved.text or "")


async def _report_ill(harness: Harness, user: SandboxUser) -> int:
    # Session reminders off, so only sick-note reminders are counted (they cannot be off).
    [choose] = await harness.say(user, "/reminders")
    await harness.tap(user, choose, "No reminders")
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "I am ill")
    summary = await harness.tap(user, ask, "Skip")
    before = len(user.messages())
    user.press(summary.message_id, button_data(summary, "Send it"))
    await harness.replies(user, before, 2)
    [view] = await absence_review.list_absences(harness.core.services)
    return view.id


async def test_sick_note_reminders_until_it_is_marked_received(harness: Harness) -> None:
    user = harness.sandbox.user(8006, "Sam")
    await harness.enrol(user)
    absence_id = await _report_ill(harness, user)
    calendar = harness.core.profile.working_calendar()
    due = calendar.deadline(date(2026, 12, 3), 5)
    early_day = calendar.working_days_before(due, 2)
    assert (due, early_day) == (date(2026, 12, 10), date(2026, 12, 8))
    at_ten = datetime.combine(early_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
    assert await _run_scheduler(harness, at_ten - timedelta(minutes=1)) == 0
    early = await _reminder(harness, user, at_ten)
    assert early.text == (
        "Reminder: your sick note is needed by Thursday, 10 December 2026.\n\n"
        "Your Offender Manager must get it by then. It is for the session on Thursday, "
        "3 December 2026 at 18:00. You can send a photo of it here, or give it to them."
    )
    last = await _reminder(harness, user, at_ten + timedelta(days=2))
    assert (last.text or "").startswith("Reminder: today is the last day for your sick note.\n")
    await absence_review.mark_certificate_received(harness.core.services, ACTOR, absence_id)
    assert await _run_scheduler(harness, at_ten + timedelta(days=2, hours=1)) == 0


async def test_no_sick_note_reminder_once_he_sent_a_photo(harness: Harness) -> None:
    user = harness.sandbox.user(8007, "Sam")
    await harness.enrol(user)
    await _report_ill(harness, user)
    before = len(user.messages())
    user.send_photo(b"\xff\xd8\xff\xe0 photo")
    await harness.replies(user, before)
    # Reminders stop once the note has really arrived (downloaded), not just announced.
    for _ in range(100):
        async with harness.core.services.uow() as session:
            if await session.scalar(select(Attachment.fetched_at)) is not None:
                break
        await asyncio.sleep(0.05)
    assert await _run_scheduler(harness, datetime(2026, 12, 8, 10, tzinfo=UTC)) == 0
    assert await _run_scheduler(harness, datetime(2026, 12, 10, 10, tzinfo=UTC)) == 0


async def test_the_running_bot_sends_reminders_by_itself(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> None:
    async with running_harness(
        database_url, profile, clock, tmp_path, scheduler_interval=0.2
    ) as harness:
        user = harness.sandbox.user(8008, "Sam")
        await harness.enrol(user)
        before = len(user.messages())
        harness.clock.now = EVENING_BEFORE
        [reminder] = await harness.replies(user, before)
        assert (reminder.text or "").startswith("Reminder: you have a group session tomorrow.")
        # Restarted, it does not send the same reminder again.
        await harness.restart_bot()
        await asyncio.sleep(0.6)
        assert len(user.messages()) == before + 1


async def test_he_is_told_to_call_first_when_a_catch_up_is_due(harness: Harness) -> None:
    user = harness.sandbox.user(8009, "Sam")
    reference = await harness.enrol(user)
    harness.clock.now = datetime(2026, 12, 4, 9, tzinfo=UTC)
    await admin.record_attendance(harness.core.services, ACTOR, reference, 1, Outcome.ABSENT)
    reminder = await _reminder(harness, user, EVENING_BEFORE + timedelta(days=7))
    assert (reminder.text or "").endswith(
        "You may not be able to join this session yet. This is because of the sessions you "
        "missed. Please call your Offender Manager before you come: 01234 567890"
    )


async def test_no_evening_reminder_on_the_day_itself(harness: Harness) -> None:
    user = harness.sandbox.user(8011, "Sam")
    await harness.enrol(user)
    # The scheduler was down all evening: on the morning of the session nothing says
    # "tomorrow"; the two-hours-before reminder still comes.
    assert await _run_scheduler(harness, datetime(2026, 12, 3, 9, tzinfo=UTC)) == 0
    soon = await _reminder(harness, user, TWO_HOURS_BEFORE)
    assert (soon.text or "").startswith("Reminder: your group session starts soon.")
