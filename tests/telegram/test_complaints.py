"""Complaints, concerns, rights and format requests, end to end in the chat."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from bot.db.models import Attachment, AuditEntry, Complaint, ComplaintEntry
from bot.domain.complaints import Status
from bot.domain.errors import NotFound
from bot.sandbox.server import SandboxUser, SentMessage
from bot.services import admin, complaint_review, complaints, format_requests
from tests.telegram.conftest import ACTOR, Harness, button_data, button_labels

REFERENCE = re.compile(r"\u2068(C-[0-9A-Z]{5})\u2069")
SPO = "spo@example.org"
CHIEF = "chief@example.org"


async def _staff(harness: Harness) -> dict[str, SandboxUser]:
    """An SPO and a Chief Officer, and the OM, each with Telegram linked for notices."""
    services = harness.core.services
    await admin.add_staff(services, ACTOR, SPO, "Sol Fictional", "senior_probation_officer", None)
    await admin.add_staff(services, ACTOR, CHIEF, "Cai Fictional", "chief_officer", None)
    phones = {}
    for number, email in enumerate(["om@example.org", SPO, CHIEF]):
        phone = harness.sandbox.user(9900 + number, email.split("@")[0])
        code = await admin.issue_staff_code(services, ACTOR, email, None)
        await harness.say(phone, f"/start {code.code}")
        phones[email] = phone
    return phones


async def _raise(
    harness: Harness,
    user: SandboxUser,
    category: str,
    person: str | None,
    words: str = "The facilitator shouted at me.",
) -> tuple[str, SentMessage]:
    """Raise a complaint by buttons; returns its reference and the confirmation."""
    [first] = await harness.say(user, "/complaint")
    assert first.text == "What is your complaint about? Tap one below."
    step = await harness.tap(user, first, category)
    if person is not None:
        assert (step.text or "").startswith("Is it about one person on the staff?")
        step = await harness.tap(user, step, person)
    assert (step.text or "").startswith("Please tell us what happened, in your own words.")
    [added] = await harness.say(user, words)
    assert (added.text or "").startswith("Got it. You can send more, or tap Done.")
    summary = await harness.tap(user, added, "Done")
    assert (summary.text or "").startswith("Please check your complaint.")
    sent = await harness.tap(user, summary, "Send it")
    match = REFERENCE.search(sent.text or "")
    assert match, sent.text
    return match.group(1), sent


async def test_unfair_treatment_goes_to_the_spo_with_a_reference(harness: Harness) -> None:
    phones = await _staff(harness)
    user = harness.sandbox.user(9001, "Sam")
    await harness.enrol(user)
    spo_before = len(phones[SPO].messages())
    reference, sent = await _raise(harness, user, "I was treated unfairly", "I'd rather not say")
    # 25 working days from Tuesday 24 November, past Christmas Day and the Boxing Day
    # substitute (Monday 28 December).
    reply_by = harness.core.profile.working_calendar().deadline(harness.clock.now.date(), 25)
    assert reply_by.isoformat() == "2026-12-31"
    assert sent.text == (
        "Thank you. Your complaint has been sent to the Senior Probation Officer.\n\n"
        f"Your reference is \u2068{reference}\u2069. You should get an answer by "
        "Thursday, 31 December 2026.\n\nYou can see it at any time with /complaints."
    )
    [notice] = await harness.replies(phones[SPO], spo_before)
    assert notice.text == "New item in your queue."
    [view] = await complaint_review.list_complaints(harness.core.services, SPO)
    assert (view.reference, view.queue, view.stage, view.status) == (
        reference,
        "senior_probation_officer",
        1,
        "received",
    )
    assert view.entries[0].text == "The facilitator shouted at me."


async def test_a_concern_about_his_om_is_hidden_from_the_om(harness: Harness) -> None:
    phones = await _staff(harness)
    user = harness.sandbox.user(9002, "Sam")
    await harness.enrol(user)
    om_before, spo_before = len(phones["om@example.org"].messages()), len(phones[SPO].messages())
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "Discrimination by staff")
    assert button_labels(persons)[:1] == ["Dana Fictional (your Offender Manager)"]
    assert "The person you name will not see your complaint." in (persons.text or "")
    reference, sent = await _raise_from(
        harness, user, persons, "Dana Fictional (your Offender Manager)"
    )
    assert "sent to the Senior Probation Officer" in (sent.text or "")
    await harness.replies(phones[SPO], spo_before)
    await harness.sandbox.wait_until_idle()
    assert len(phones["om@example.org"].messages()) == om_before
    services = harness.core.services
    assert (
        await complaint_review.list_complaints(services, "om@example.org", include_closed=True)
        == []
    )
    with pytest.raises(NotFound, match=f"There is no complaint {reference} in your queue."):
        await complaint_review.show_complaint(services, "om@example.org", reference)
    [seen] = await complaint_review.list_complaints(services, SPO)
    assert seen.reference == reference


async def _raise_from(
    harness: Harness, user: SandboxUser, persons: SentMessage, person: str
) -> tuple[str, SentMessage]:
    ask = await harness.tap(user, persons, person)
    [added] = await harness.say(user, "She called me names.")
    summary = await harness.tap(user, added, "Done")
    assert "Person: Dana Fictional" in (summary.text or "")
    sent = await harness.tap(user, summary, "Send it")
    match = REFERENCE.search(sent.text or "")
    assert match and ask is not None
    return match.group(1), sent


async def test_group_discrimination_goes_to_his_om(harness: Harness) -> None:
    phones = await _staff(harness)
    user = harness.sandbox.user(9003, "Sam")
    await harness.enrol(user)
    om_before = len(phones["om@example.org"].messages())
    reference, sent = await _raise(harness, user, "Discrimination by group members", None)
    assert "sent to the Offender Manager" in (sent.text or "")
    [notice] = await harness.replies(phones["om@example.org"], om_before)
    assert notice.text == "New item in your queue."
    [mine] = await complaint_review.list_complaints(harness.core.services, "om@example.org")
    assert mine.reference == reference
    # The SPO can see discrimination concerns too; the Chief Officer cannot at stage 1.
    assert len(await complaint_review.list_complaints(harness.core.services, SPO)) == 1
    assert await complaint_review.list_complaints(harness.core.services, CHIEF) == []


async def test_not_satisfied_goes_to_stage_two_then_the_ombudsman(harness: Harness) -> None:
    phones = await _staff(harness)
    user = harness.sandbox.user(9004, "Sam")
    await harness.enrol(user)
    reference, _sent = await _raise(harness, user, "I was treated unfairly", "Someone else")
    services = harness.core.services
    before = len(user.messages())
    await complaint_review.acknowledge(services, SPO, reference)
    [ack] = await harness.replies(user, before)
    assert (ack.text or "").startswith(f"Update about \u2068{reference}\u2069.\n\n")
    before = len(user.messages())
    await complaint_review.reply(services, SPO, reference, "We looked into it. Sorry.")
    words, answer = await harness.replies(user, before, 2)
    assert words.text == (
        f"Update about \u2068{reference}\u2069.\n\nThe Senior Probation Officer has answered:\n"
        "We looked into it. Sorry."
    )
    assert (answer.text or "").startswith("Are you happy with this answer?")
    assert button_labels(answer) == ["I'm satisfied", "I'm not satisfied"]
    ask = await harness.tap(user, answer, "I'm not satisfied")
    assert "It will go to the Chief Officer." in (ask.text or "")
    chief_before = len(phones[CHIEF].messages())
    [check] = await harness.say(user, "Nothing has changed.")
    assert check.text == (
        f"Please check. Complaint \u2068{reference}\u2069 will go to the Chief Officer with "
        "your words: Nothing has changed."
    )
    escalated = await harness.tap(user, check, "Send it")
    assert (escalated.text or "").startswith(
        f"Thank you. Complaint \u2068{reference}\u2069 has been sent to the Chief Officer."
    )
    [notice] = await harness.replies(phones[CHIEF], chief_before)
    assert notice.text == "New item in your queue."
    [stage2] = await complaint_review.list_complaints(services, CHIEF)
    assert (stage2.stage, stage2.status) == (2, "escalated")
    assert stage2.entries[-1].text == "Nothing has changed."
    before = len(user.messages())
    await complaint_review.reply(services, CHIEF, reference, "I have reviewed it.", close=True)
    final, ombudsman = await harness.replies(user, before, 2)
    assert (final.text or "").endswith(
        "The Chief Officer has answered:\nI have reviewed it.\n\nThis complaint is now closed."
    )
    text = ombudsman.text or ""
    assert text.startswith(f"What you can do next about \u2068{reference}\u2069.\n\n")
    assert "Prisons and Probation Ombudsman" in text and "within 3 months" in text
    assert "Phone: 020 7633 4100" in text
    assert button_labels(final) == button_labels(ombudsman) == []
    # The old "not satisfied" button cannot send it to stage 2 twice.
    update_id = user.press(answer.message_id, button_data(answer, "I'm not satisfied"))
    await harness.sandbox.wait_until_idle()
    assert harness.sandbox.callback_answer(update_id) is not None
    async with services.uow() as session:
        complaint = await session.scalar(select(Complaint))
        actions = list(await session.scalars(select(AuditEntry.action)))
        his_steps = list(
            await session.scalars(
                select(ComplaintEntry.kind)
                .where(ComplaintEntry.author == "participant")
                .order_by(ComplaintEntry.id)
            )
        )
    assert complaint is not None and complaint.status is Status.CLOSED
    # What staff did is in the audit log; what he did is in the complaint's own history.
    assert "complaint.acknowledge" in actions and "complaint.reply" in actions
    assert "complaint.raise" not in actions and "complaint.escalate" not in actions
    assert his_steps == ["description", "escalation"]


async def test_satisfied_closes_it_and_the_history_shows_everything(harness: Harness) -> None:
    await _staff(harness)
    user = harness.sandbox.user(9005, "Sam")
    await harness.enrol(user)
    reference, _sent = await _raise(harness, user, "Something else", "I'd rather not say")
    before = len(user.messages())
    await complaint_review.reply(harness.core.services, SPO, reference, "Thanks, fixed.")
    _words, answer = await harness.replies(user, before, 2)
    closed = await harness.tap(user, answer, "I'm satisfied")
    assert closed.text == f"Thank you. Complaint \u2068{reference}\u2069 is now closed."
    [listed] = await harness.say(user, "/complaints")
    assert listed.text == (
        f"Your complaints\n\n\u2068{reference}\u2069: stage 1. Closed.\n\n"
        "Tap one to see what has happened."
    )
    assert button_labels(listed) == [f"\u2068{reference}\u2069: Closed"]
    history = await harness.tap(user, listed, f"\u2068{reference}\u2069: Closed")
    text = history.text or ""
    assert "Stage 1. Now: Closed" in text
    assert "you wrote: The facilitator shouted at me." in text
    assert "the Senior Probation Officer answered: Thanks, fixed." in text
    assert text.rstrip().endswith("closed.")


async def test_cancel_at_each_step_sends_nothing(harness: Harness) -> None:
    user = harness.sandbox.user(9006, "Sam")
    await harness.enrol(user)
    [first] = await harness.say(user, "/complaint")
    assert (await harness.tap(user, first, "Cancel")).text == "OK. Nothing has been sent."
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "I was treated unfairly")
    assert (await harness.tap(user, persons, "Cancel")).text == "OK. Nothing has been sent."
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "I was treated unfairly")
    ask = await harness.tap(user, persons, "Someone else")
    assert (await harness.tap(user, ask, "Cancel")).text == "OK. Nothing has been sent."
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "I was treated unfairly")
    await harness.tap(user, persons, "Someone else")
    [added] = await harness.say(user, "words")
    summary = await harness.tap(user, added, "Done")
    assert (await harness.tap(user, summary, "Cancel")).text == "OK. Nothing has been sent."
    async with harness.core.services.uow() as session:
        assert list(await session.scalars(select(Complaint))) == []


async def test_over_long_words_are_refused_and_what_he_wrote_is_kept(harness: Harness) -> None:
    user = harness.sandbox.user(9007, "Sam")
    await harness.enrol(user)
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "I was treated unfairly")
    await harness.tap(user, persons, "Someone else")
    part_one = "a" * 3000
    [added] = await harness.say(user, part_one)
    assert "You have used 3000 of 4000 letters." in (added.text or "")
    [refused] = await harness.say(user, "b" * 2000)
    assert (refused.text or "").startswith(
        "Sorry, that is too long. I have kept what you sent before, but not this message. "
        "You have 998 letters left."
    )
    [added] = await harness.say(user, "c" * 900)
    summary = await harness.tap(user, added, "Done")
    await harness.tap(user, summary, "Send it")
    async with harness.core.services.uow() as session:
        complaint = await session.scalar(select(Complaint))
    assert complaint is not None
    [view] = await complaint_review.list_complaints(harness.core.services, await _admin(harness))
    assert view.entries[0].text == part_one + "\n\n" + "c" * 900


async def _admin(harness: Harness) -> str:
    await admin.add_staff(
        harness.core.services, ACTOR, "admin@example.org", "Ash Fictional", "admin", None
    )
    return "admin@example.org"


async def test_a_photo_goes_with_the_complaint_not_as_a_sick_note(harness: Harness) -> None:
    user = harness.sandbox.user(9008, "Sam")
    await harness.enrol(user)
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "I was treated unfairly")
    await harness.tap(user, persons, "Someone else")
    await harness.say(user, "See the photo.")
    before = len(user.messages())
    user.send_photo(b"\xff\xd8\xff\xe0 a photo of a letter")
    [kept] = await harness.replies(user, before)
    assert kept.text == "Thank you. I have added this file. You can send more, or tap Done."
    summary = await harness.tap(user, kept, "Done")
    assert "Files: 1 file" in (summary.text or "")
    await harness.tap(user, summary, "Send it")
    async with harness.core.services.uow() as session:
        [attachment] = list(await session.scalars(select(Attachment)))
        complaint = await session.scalar(select(Complaint))
    assert complaint is not None and attachment.complaint_id == complaint.id
    assert attachment.absence_id is None


async def test_at_most_five_open_complaints(harness: Harness) -> None:
    user = harness.sandbox.user(9009, "Sam")
    await harness.enrol(user)
    for _ in range(5):
        await _raise(harness, user, "Something else", "I'd rather not say")
    [refused] = await harness.say(user, "/complaint")
    assert (refused.text or "").startswith("You already have 5 complaints waiting for an answer.")
    assert "01244 394500" in (refused.text or "")


async def test_rights_lead_into_each_route(harness: Harness) -> None:
    user = harness.sandbox.user(9010, "Sam")
    await harness.enrol(user)
    [rights] = await harness.say(user, "My rights")
    text = rights.text or ""
    assert text.startswith("Your rights\n\nYou will be treated fairly.")
    assert "complain to the Senior Probation Officer" in text
    assert "write to the Chief Officer at: Beech House" in text
    assert button_labels(rights) == [
        "Tell us about discrimination",
        "Complain about unfair treatment",
        "Another language or format",
    ]
    choose = await harness.tap(user, rights, "Tell us about discrimination")
    assert button_labels(choose) == [
        "Discrimination by staff",
        "Discrimination by group members",
        "Cancel",
    ]


async def test_a_format_request_is_recorded_and_he_is_told_when_done(harness: Harness) -> None:
    services = harness.core.services
    await admin.add_staff(
        services, ACTOR, "co@example.org", "Cy Fictional", "contracts_officer", None
    )
    user = harness.sandbox.user(9011, "Sam")
    await harness.enrol(user)
    [conditions] = await harness.say(user, "/conditions")
    assert (conditions.text or "").startswith("What you agreed to\n- Come on time")
    choose = await harness.tap(user, conditions, "Another language or format")
    ask = await harness.tap(user, choose, "Another language")
    assert ask.text == "Which language would you like? Write its name below."
    [received] = await harness.say(user, "Tigrinya")
    match = re.search(r"\u2068(F-[0-9A-Z]{5})\u2069", received.text or "")
    assert match, received.text
    [request] = await format_requests.list_requests(services)
    assert (request.format, request.language) == ("language", "Tigrinya")
    before = len(user.messages())
    await format_requests.mark_done(
        services, ACTOR, request.id, "A translated copy is at the office."
    )
    [done] = await harness.replies(user, before)
    assert done.text == (
        f"Update about your request \u2068{match.group(1)}\u2069.\n\nIt has been dealt with.\n\n"
        "Message: A translated copy is at the office."
    )
    assert await format_requests.list_requests(services) == []


async def test_his_list_shows_stage_status_and_due_date(harness: Harness) -> None:
    user = harness.sandbox.user(9012, "Sam")
    await harness.enrol(user)
    reference, _sent = await _raise(harness, user, "Something else", "I'd rather not say")
    [listed] = await harness.say(user, "/complaints")
    assert (
        f"\u2068{reference}\u2069: stage 1. Received. Answer due by Thursday, 31 December 2026."
        in (listed.text or "")
    )


async def test_overdue_complaints_are_flagged_to_staff_once_a_day(harness: Harness) -> None:
    phones = await _staff(harness)
    user = harness.sandbox.user(9013, "Sam")
    await harness.enrol(user)
    reference, _sent = await _raise(harness, user, "I was treated unfairly", "Someone else")
    services = harness.core.services
    # Not acknowledged within 5 working days: overdue from Wednesday 2 December.
    harness.clock.now = datetime(2026, 12, 2, 8, 59, tzinfo=UTC)
    assert await complaint_review.queue_overdue_notices(services) == 0  # before 09:00
    harness.clock.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    spo_before = len(phones[SPO].messages())
    assert await complaint_review.queue_overdue_notices(services) == 1
    [notice] = await harness.replies(phones[SPO], spo_before)
    assert notice.text == "You have 1 complaint past its deadline. Please look at your queue."
    assert await complaint_review.queue_overdue_notices(services) == 0  # once a day
    [listed] = await complaint_review.list_complaints(services, SPO, overdue_only=True)
    assert listed.reference == reference
    await complaint_review.reply(services, SPO, reference, "Answered.")
    harness.clock.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert await complaint_review.queue_overdue_notices(services) == 0


async def test_a_file_sent_while_not_writing_a_complaint_is_not_a_sick_note(
    harness: Harness,
) -> None:
    user = harness.sandbox.user(9014, "Sam")
    await harness.enrol(user)
    # Ill, so a sick note is due; then a complaint, at the summary step.
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "I am ill")
    summary = await harness.tap(user, ask, "Skip")
    before = len(user.messages())
    user.press(summary.message_id, button_data(summary, "Send it"))
    await harness.replies(user, before, 2)
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "Discrimination by staff")
    await harness.tap(user, persons, "Dana Fictional (your Offender Manager)")
    [added] = await harness.say(user, "She was rude about my religion.")
    await harness.tap(user, added, "Done")
    before = len(user.messages())
    user.send_photo(b"\xff\xd8\xff\xe0 screenshot", caption="what she wrote")
    [refused] = await harness.replies(user, before)
    assert refused.text == (
        "Please finish the steps above first, or tap Cancel. I have not kept this file."
    )
    async with harness.core.services.uow() as session:
        assert list(await session.scalars(select(Attachment))) == []


async def test_a_caption_is_added_to_his_words(harness: Harness) -> None:
    user = harness.sandbox.user(9015, "Sam")
    await harness.enrol(user)
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "I was treated unfairly")
    await harness.tap(user, persons, "Someone else")
    before = len(user.messages())
    user.send_photo(b"\xff\xd8\xff\xe0 photo", caption="He pushed me here.")
    [kept] = await harness.replies(user, before)
    summary = await harness.tap(user, kept, "Done")
    assert "Your words: He pushed me here." in (summary.text or "")


async def test_a_complaint_draft_survives_reporting_an_absence_in_between(
    harness: Harness,
) -> None:
    user = harness.sandbox.user(9016, "Sam")
    await harness.enrol(user)
    [first] = await harness.say(user, "/complaint")
    persons = await harness.tap(user, first, "I was treated unfairly")
    await harness.tap(user, persons, "Someone else")
    [added] = await harness.say(user, "Part one of what happened.")
    # He breaks off to report an absence, start to finish.
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "Work")
    [summary] = await harness.say(user, "Shift")
    await harness.tap(user, summary, "Send it")
    assert ask is not None
    # Back to the complaint: its buttons still work and his words are all there.
    done = await harness.tap(user, added, "Done")
    assert "Your words: Part one of what happened." in (done.text or "")


async def test_the_limit_is_checked_again_once_he_has_written_it(harness: Harness) -> None:
    user = harness.sandbox.user(9020, "Sam")
    await harness.enrol(user)
    for _ in range(4):
        await _raise(harness, user, "Something else", "I'd rather not say")
    [first] = await harness.say(user, "/complaint")
    step = await harness.tap(user, first, "Something else")
    step = await harness.tap(user, step, "I'd rather not say")
    [added] = await harness.say(user, "They lost my form.")
    async with harness.core.services.uow() as session:  # a fifth opens meanwhile
        older = await session.scalar(select(Complaint).order_by(Complaint.id))
        assert older is not None
        copy = {
            column.key: getattr(older, column.key)
            for column in Complaint.__table__.columns
            if column.key not in ("id", "reference")
        }
        session.add(Complaint(**copy, reference="C-ZZZZZ"))
        await session.commit()
    refused = await harness.tap(user, added, "Done")
    assert (refused.text or "").startswith("You already have 5 complaints waiting for an answer.")
    async with harness.core.services.uow() as session:
        texts = await session.scalars(select(ComplaintEntry.text))
        assert "They lost my form." not in list(texts)


async def test_a_reference_drawn_twice_is_drawn_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = harness.sandbox.user(9021, "Sam")
    await harness.enrol(user)
    taken, _ = await _raise(harness, user, "Something else", "I'd rather not say")
    draws = [taken]
    real_draw = complaints.rules.new_reference

    def draw(prefix: str) -> str:
        return draws.pop() if draws else real_draw(prefix)

    monkeypatch.setattr(complaints.rules, "new_reference", draw)
    second, _ = await _raise(harness, user, "Something else", "I'd rather not say")
    assert second != taken and draws == []
    # The turn that clashed sent nothing: one confirmation, with the new reference.
    assert [m for m in user.messages() if taken in (m.text or "")] != []
    assert len([m for m in user.messages() if second in (m.text or "")]) == 1
    async with harness.core.services.uow() as session:
        references = set(await session.scalars(select(Complaint.reference)))
    assert references == {taken, second}


async def test_staff_are_told_of_each_complaint_once(harness: Harness) -> None:
    phones = await _staff(harness)
    user = harness.sandbox.user(9022, "Sam")
    await harness.enrol(user)
    spo_before = len(phones[SPO].messages())
    await _raise(harness, user, "I was treated unfairly", "I'd rather not say")
    [notice] = await harness.replies(phones[SPO], spo_before)
    assert notice.text == "New item in your queue."
    services = harness.core.services
    assert await complaints.tell_staff(services) == 0  # told already
    async with services.uow() as session:  # as if two processes saw it waiting at once
        complaint = await session.scalar(select(Complaint))
        assert complaint is not None
        complaint.staff_to_tell = True
        await session.commit()
    told = await asyncio.gather(complaints.tell_staff(services), complaints.tell_staff(services))
    assert sorted(told) == [0, 1]
    await harness.replies(phones[SPO], spo_before, count=2)
    await asyncio.sleep(0.5)
    assert len(phones[SPO].messages()) == spo_before + 2


async def test_raising_a_complaint_never_reads_staffs_sign_in_secrets(harness: Harness) -> None:
    """Naming a member of staff and telling staff of it load what they need of staff, not
    their password hashes or TOTP secrets."""
    phones = await _staff(harness)
    user = harness.sandbox.user(9023, "Sam")
    await harness.enrol(user)
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = harness.core.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        spo_before = len(phones[SPO].messages())
        await _raise(harness, user, "I was treated unfairly", "I'd rather not say")
        await harness.replies(phones[SPO], spo_before)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert any("FROM staff" in s for s in statements)  # staff were read, for the buttons
    for secret in ("password_hash", "totp_secret"):
        assert not [s for s in statements if secret in s], secret
