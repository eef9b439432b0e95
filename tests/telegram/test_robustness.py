"""Bad input gets a polite answer and changes nothing; duplicates do nothing twice."""

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot import intake
from bot.app import WEBHOOK_SECRET_HEADER
from bot.config import Profile
from bot.db.models import InboundUpdate, OutboxMessage
from tests.conftest import FakeClock, free_port
from tests.telegram.conftest import Harness, running_harness


async def test_sticker_gets_a_polite_answer(harness: Harness) -> None:
    user = harness.sandbox.user(3001, "Sam")
    await harness.enrol(user)
    before = len(user.messages())
    user.send_sticker()
    [reply] = await harness.replies(user, before)
    assert (reply.text or "").startswith("Sorry, I can only read text here.")


async def test_very_long_text_is_refused_politely(harness: Harness) -> None:
    user = harness.sandbox.user(3002, "Sam")
    await harness.enrol(user)
    [reply] = await harness.say(user, "x" * 5000)
    assert (reply.text or "").startswith("Sorry, that message is too long")


async def test_unknown_command(harness: Harness) -> None:
    user = harness.sandbox.user(3003, "Sam")
    await harness.enrol(user)
    [reply] = await harness.say(user, "/launch_rockets")
    assert (reply.text or "").startswith("Sorry, I do not know that command.")


async def test_same_update_delivered_twice_gives_one_reply(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "SETTLE", 10.0)  # handled before acknowledged, however slow
    user = harness.sandbox.user(3004, "Sam")
    await harness.enrol(user)
    before = len(user.messages())
    update_id = user.send_text("/progress")
    await harness.replies(user, before)
    harness.sandbox.redeliver(update_id)
    # Updates are handled in order, so once /help is answered the duplicate has been seen.
    [help_reply] = await harness.say(user, "/help")
    assert (help_reply.text or "").startswith("What I can do")
    progress_replies = [
        m for m in user.messages()[before:] if (m.text or "").startswith("Your progress")
    ]
    assert len(progress_replies) == 1
    async with harness.core.services.uow() as session:
        # Handled before it was acknowledged, so never stored: his answer holds the claim.
        assert await session.get(InboundUpdate, update_id) is None
        claims = await session.scalar(
            select(func.count()).where(OutboxMessage.update_id == update_id)
        )
        assert claims == 1


async def test_group_chat_is_told_once_and_left(harness: Harness) -> None:
    member = harness.sandbox.user(3005, "Sam")
    group = harness.sandbox.group(-4001, "Example group")
    group.add_bot(by=member)
    group.send_text(member, "/start")
    await harness.sandbox.wait_for_call("leaveChat")
    await harness.sandbox.wait_until_idle()
    notices = [m for m in group.messages() if "only work in private chats" in (m.text or "")]
    assert len(notices) == 1
    async with harness.core.services.uow() as session:
        queued = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.chat_id == -4001)
        )
    assert queued == 2  # the notice and the leave, nothing for the second message


async def test_stale_inline_button_is_answered(harness: Harness) -> None:
    user = harness.sandbox.user(3006, "Sam")
    await harness.enrol(user)
    welcome = user.messages()[-1]
    update_id = user.press(welcome.message_id, "old:button", force=True)
    await harness.sandbox.wait_for_call("answerCallbackQuery")
    answer = harness.sandbox.callback_answer(update_id)
    assert answer is not None and "does not work any more" in answer.get("text", "")


async def test_webhook_mode_accepts_the_right_secret_and_rejects_a_wrong_one(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/updates"
    async with running_harness(
        database_url,
        profile,
        clock,
        tmp_path,
        webhook_url=url,
        listen="127.0.0.1",
        port=port,
        webhook_secret="s3cret-" * 5,
    ) as harness:
        webhook = harness.sandbox.webhook
        assert webhook is not None and webhook.url == url
        # The sandbox posts updates with the secret header, as Telegram does.
        stranger = harness.sandbox.user(3007, "Alex")
        [reply] = await harness.say(stranger, "/start")
        assert "you need a code" in (reply.text or "")
        forged = {
            "update_id": 999_999,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "text": "/start",
                "chat": {"id": 3008, "type": "private", "first_name": "Eve"},
                "from": {"id": 3008, "is_bot": False, "first_name": "Eve"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        async with aiohttp.ClientSession() as client:
            for headers in ({WEBHOOK_SECRET_HEADER: "wrong"}, {}):
                async with client.post(url, json=forged, headers=headers) as response:
                    assert response.status == 403
        await harness.say(stranger, "/help")
        assert harness.sandbox.messages_to(3008) == []
        async with harness.core.services.uow() as session:
            assert await session.get(InboundUpdate, 999_999) is None
