"""The outbox delivers through Bot API failures, in order, and gives up only when it must."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.sandbox.server import SandboxUser, SentMessage
from tests.telegram.conftest import Harness


async def _deliver_while_time_passes(
    harness: Harness, user: SandboxUser, count: int
) -> list[SentMessage]:
    """Let the fake clock run on (minutes per step) until `count` messages have arrived."""
    for _ in range(100):
        if len(user.messages()) >= count:
            break
        harness.clock.advance(timedelta(minutes=1))
        harness.core.services.on_outbox_written()
        await asyncio.sleep(0.05)
    return await harness.sandbox.wait_for_messages(user.chat_id, count, timeout=5)


async def test_429_is_retried_after_the_time_telegram_asks_for(harness: Harness) -> None:
    user = harness.sandbox.user(4001, "Sam")
    await harness.enrol(user)
    before = len(user.messages())
    harness.sandbox.faults.fail_next("sendMessage", retry_after=30)
    user.send_text("/progress")
    await harness.sandbox.wait_for_call("sendMessage", count=before + 1)
    await asyncio.sleep(0.3)
    assert len(user.messages()) == before  # not retried before retry_after has passed
    [row] = [r for r in await harness.outbox(user.chat_id) if r.status == "pending"]
    assert row.last_error is not None and row.last_error.startswith("429")
    assert row.next_attempt_at >= harness.clock() + timedelta(seconds=29)
    messages = await _deliver_while_time_passes(harness, user, before + 1)
    assert (messages[-1].text or "").startswith("Your progress")


async def test_server_errors_and_an_outage_delay_but_keep_order(harness: Harness) -> None:
    user = harness.sandbox.user(4002, "Sam")
    await harness.enrol(user)
    before = len(user.messages())
    harness.sandbox.faults.fail_next("sendMessage", status=500, count=2)
    harness.sandbox.faults.down = True
    user.send_text("/progress")
    user.send_text("/contacts")
    user.send_text("/help")
    await asyncio.sleep(0.5)
    assert len(user.messages()) == before
    harness.sandbox.faults.down = False
    messages = await _deliver_while_time_passes(harness, user, before + 3)
    texts = [(m.text or "").splitlines()[0] for m in messages[before:]]
    assert texts == ["Your progress", "Contacts", "What I can do"]
    assert all(r.status == "sent" for r in await harness.outbox(user.chat_id))


async def test_blocked_participant_is_marked_failed_not_retried_for_ever(harness: Harness) -> None:
    user = harness.sandbox.user(4003, "Sam")
    await harness.enrol(user)
    user.block_bot()
    queued_before = len(await harness.outbox(user.chat_id))
    user.send_text("/progress")
    # The answer to /progress itself, not the welcome before it.
    answer = await harness.outcome_of_next(user.chat_id, queued_before)
    assert answer.status == "failed"
    assert answer.last_error is not None and "blocked" in answer.last_error
    # Others still get their answers.
    other = harness.sandbox.user(4004, "Alex")
    [reply] = await harness.say(other, "/start")
    assert "you need a code" in (reply.text or "")


async def test_a_refused_token_keeps_the_message_for_later(harness: Harness) -> None:
    """401 refuses the whole bot (a revoked token, a proxy's hiccup), not this message: it
    waits, and goes once the Bot API takes the bot again."""
    user = harness.sandbox.user(4005, "Sam")
    await harness.enrol(user)
    before = len(user.messages())
    harness.sandbox.faults.fail_next("sendMessage", status=401, description="Unauthorized")
    user.send_text("/progress")
    await harness.sandbox.wait_for_call("sendMessage", count=before + 1)
    await asyncio.sleep(0.3)
    [row] = [r for r in await harness.outbox(user.chat_id) if r.status == "pending"]
    assert row.last_error is not None and row.last_error.startswith("401")
    assert row.next_attempt_at >= harness.clock() + timedelta(seconds=59)
    messages = await _deliver_while_time_passes(harness, user, before + 1)
    assert (messages[-1].text or "").startswith("Your progress")
