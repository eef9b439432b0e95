from bot.domain.attendance import Outcome
from bot.services import admin
from tests.telegram.conftest import ACTOR, Harness


async def test_progress_before_any_attendance(harness: Harness) -> None:
    user = harness.sandbox.user(2001, "Sam")
    await harness.enrol(user)
    [reply] = await harness.say(user, "/progress")
    text = reply.text or ""
    assert text.splitlines()[0] == "Your progress"
    assert "You have done 0 of 35 sessions." in text
    assert "You have used 0 of your 4 catch-ups. You have 4 catch-ups left." in text
    # Babel's British English: the whole date, then the 24-hour time in local time.
    assert "Your next group session is on Thursday, 3 December 2026 at 18:00." in text
    assert "Place: Room 2, Example House" in text
    assert "Your Offender Manager is Dana Fictional. Phone: 01234 567890" in text
    assert reply.params.get("protect_content") is True


async def test_two_attended_one_missed(harness: Harness) -> None:
    user = harness.sandbox.user(2002, "Sam")
    reference = await harness.enrol(user)
    for number, outcome in ((1, Outcome.ATTENDED), (2, Outcome.ATTENDED), (3, Outcome.ABSENT)):
        await admin.record_attendance(harness.core.services, ACTOR, reference, number, outcome)
    [reply] = await harness.say(user, "/progress")
    text = reply.text or ""
    assert "You have done 2 of 35 sessions." in text
    assert "You have used 1 of your 4 catch-ups. You have 3 catch-ups left." in text
    assert (
        "You have 1 catch-up session to do. You must do it before your next group session." in text
    )
    assert "start the programme again" not in text


async def test_one_catch_up_left_uses_the_singular(harness: Harness) -> None:
    user = harness.sandbox.user(2003, "Sam")
    reference = await harness.enrol(user)
    for number in (1, 2, 3):
        await admin.record_attendance(
            harness.core.services, ACTOR, reference, number, Outcome.ABSENT
        )
    [reply] = await harness.say(user, "/progress")
    assert "You have 1 catch-up left." in (reply.text or "")
    assert "You have 3 catch-up sessions to do. You must do them" in (reply.text or "")


async def test_five_missed_shows_the_restart_notice(harness: Harness) -> None:
    user = harness.sandbox.user(2004, "Sam")
    reference = await harness.enrol(user)
    before = len(user.messages())
    for number in range(1, 6):
        await admin.record_attendance(
            harness.core.services, ACTOR, reference, number, Outcome.ABSENT
        )
    # The fifth miss is told to him once, unprompted, with a neutral first line.
    [notice] = await harness.replies(user, before)
    assert (notice.text or "").startswith("Update about your sessions.\n\n")
    assert "You have now missed 5 sessions. Only 4 can be caught up." in (notice.text or "")
    assert "start the programme again" in (notice.text or "")
    [reply] = await harness.say(user, "/progress")
    text = reply.text or ""
    assert "You have missed 5 sessions. Only 4 can be caught up." in text
    assert "catch-ups left" not in text
    assert "start the programme again" in text
    assert "Offender Manager" in text


async def test_menu_buttons_show_progress_contacts_and_help(harness: Harness) -> None:
    user = harness.sandbox.user(2005, "Sam")
    await harness.enrol(user)
    [progress] = await harness.say(user, "My progress")
    assert (progress.text or "").startswith("Your progress")
    [contacts] = await harness.say(user, "Contacts")
    text = contacts.text or ""
    assert "Your Offender Manager is Dana Fictional. Phone: 01234 567890" in text
    assert "Phone: 01244 394500" in text
    assert "Beech House" in text
    [help_reply] = await harness.say(user, "Help")
    assert "/progress" in (help_reply.text or "") and "/contacts" in (help_reply.text or "")


async def test_progress_after_a_catch_up(harness: Harness) -> None:
    user = harness.sandbox.user(2006, "Sam")
    reference = await harness.enrol(user)
    from datetime import date

    await admin.record_attendance(harness.core.services, ACTOR, reference, 1, Outcome.ABSENT)
    await admin.record_catch_up(harness.core.services, ACTOR, reference, 1, date(2026, 12, 5))
    [reply] = await harness.say(user, "/progress")
    text = reply.text or ""
    assert "You have done 1 of 35 sessions." in text
    assert "catch-up session to do" not in text
