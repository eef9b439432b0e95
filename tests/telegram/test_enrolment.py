from datetime import timedelta

from sqlalchemy import select

from bot.db.models import TelegramLink
from bot.services import admin
from tests.telegram.conftest import Harness


async def test_good_code_links_the_phone_and_shows_the_menu(harness: Harness) -> None:
    user = harness.sandbox.user(1001, "Sam")
    _, code = await harness.add_participant("Sam")
    [welcome] = await harness.say(user, f"/start {code.replace('-', '')}")
    assert welcome.text is not None
    assert welcome.text.startswith("Welcome, Sam.")
    assert welcome.params.get("protect_content") is True
    labels = [b["text"] for row in (welcome.reply_markup or {})["keyboard"] for b in row]
    assert labels == [
        "I can't come",
        "My progress",
        "Contacts",
        "My rights",
        "Make a complaint",
        "Help",
        "🌐 Language",
    ]


async def test_typed_code_with_hyphen_and_lower_case_works(harness: Harness) -> None:
    user = harness.sandbox.user(1002, "Sam")
    _, code = await harness.add_participant("Sam")
    [welcome] = await harness.say(user, f"/start {code.lower()}")
    assert "linked" in (welcome.text or "")


async def test_wrong_code_says_how_many_tries_are_left(harness: Harness) -> None:
    user = harness.sandbox.user(1003, "Sam")
    [reply] = await harness.say(user, "/start ABCDE12345")
    assert "did not work" in (reply.text or "")
    assert "4 more times" in (reply.text or "")


async def test_reused_code_is_refused(harness: Harness) -> None:
    first, second = harness.sandbox.user(1004, "Sam"), harness.sandbox.user(1005, "Other")
    _, code = await harness.add_participant("Sam")
    await harness.say(first, f"/start {code}")
    [reply] = await harness.say(second, f"/start {code}")
    assert "used already" in (reply.text or "")


async def test_expired_code_is_refused(harness: Harness) -> None:
    user = harness.sandbox.user(1006, "Sam")
    _, code = await harness.add_participant("Sam")
    harness.clock.advance(timedelta(days=7, minutes=1))
    [reply] = await harness.say(user, f"/start {code}")
    assert "too old" in (reply.text or "")


async def test_five_wrong_codes_in_an_hour_lock_out_even_a_good_code(harness: Harness) -> None:
    user = harness.sandbox.user(1007, "Sam")
    _, good = await harness.add_participant("Sam")
    for attempt in range(4):
        [reply] = await harness.say(user, f"/start WRONG{attempt}CODE")
        assert "did not work" in (reply.text or "")
    [fifth] = await harness.say(user, "/start WRONG5CODE")
    assert "too many wrong codes" in (fifth.text or "")
    [locked] = await harness.say(user, f"/start {good}")
    assert "too many wrong codes" in (locked.text or "")
    # After the hour has passed, the good code works.
    harness.clock.advance(timedelta(hours=1, seconds=1))
    [welcome] = await harness.say(user, f"/start {good}")
    assert "linked" in (welcome.text or "")


async def test_linking_a_new_phone_unlinks_the_old_one_and_tells_it(harness: Harness) -> None:
    old_phone, new_phone = harness.sandbox.user(1008, "Sam"), harness.sandbox.user(1009, "Sam")
    reference = await harness.enrol(old_phone)
    code = await admin.issue_code(harness.core.services, "cli:tester", reference, None)
    before_old = len(harness.sandbox.messages_to(old_phone.chat_id))
    await harness.say(new_phone, f"/start {code.code}")
    [notice] = await harness.replies(old_phone, before_old)
    first_line = (notice.text or "").splitlines()[0]
    assert first_line == (
        "This chat is no longer linked to your account. Your account is now used on another phone."
    )
    # The old phone is now a stranger: it only gets the how-to-enrol answer.
    [reply] = await harness.say(old_phone, "/progress")
    assert "you need a code" in (reply.text or "")
    async with harness.core.services.uow() as session:
        links = list(await session.scalars(select(TelegramLink).order_by(TelegramLink.id)))
    assert [(link.chat_id, link.unlinked_at is None) for link in links] == [
        (old_phone.chat_id, False),
        (new_phone.chat_id, True),
    ]


async def test_a_stranger_gets_only_the_how_to_enrol_answer(harness: Harness) -> None:
    stranger = harness.sandbox.user(1010, "Alex")
    for text in ("/start", "/progress", "/contacts", "hello", "/help"):
        [reply] = await harness.say(stranger, text)
        assert (reply.text or "").startswith("Hello. To use this chat you need a code.")
        assert "Offender Manager" in (reply.text or "")
        assert reply.reply_markup is None


async def test_tapping_his_own_link_again_greets_him(harness: Harness) -> None:
    user = harness.sandbox.user(1011, "Sam")
    _, code = await harness.add_participant("Sam")
    await harness.say(user, f"/start {code}")
    [again] = await harness.say(user, f"/start {code}")
    assert (again.text or "").startswith("Hello, Sam.")
