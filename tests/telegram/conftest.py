"""End-to-end harness: the real PTB application, polling a local Bot API server over HTTP.

The server checks every request against the official Bot API spec; any violation fails the
test at teardown.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Core, build_core, running_bot
from bot.config import Profile
from bot.db.models import OutboxMessage
from bot.sandbox.server import BotApiSandbox, SandboxUser, SentMessage
from bot.sandbox.spec import BotApiSpec, find_spec_path
from bot.services import admin
from tests.conftest import FakeClock, make_settings

TOKEN = "123456:TEST-token-for-the-sandbox"
ACTOR = "cli:tester"


@dataclass
class Harness:
    sandbox: BotApiSandbox
    core: Core
    clock: FakeClock
    run_options: dict[str, Any]
    _bot: contextlib.AbstractAsyncContextManager[Any] | None = None

    async def start_bot(self) -> None:
        self._bot = running_bot(self.core, poll_timeout=1, **self.run_options)
        await self._bot.__aenter__()

    async def stop_bot(self) -> None:
        if self._bot is not None:
            await self._bot.__aexit__(None, None, None)
            self._bot = None

    async def restart_bot(self) -> None:
        """Stop the application and start a fresh one: nothing in memory survives."""
        await self.stop_bot()
        await self.start_bot()

    async def say(self, user: SandboxUser, text: str, replies: int = 1) -> list[SentMessage]:
        """Send text and return the replies it caused (waits for them)."""
        before = len(self.sandbox.messages_to(user.chat_id))
        user.send_text(text)
        return await self.replies(user, before, replies)

    async def replies(self, user: SandboxUser, before: int, count: int = 1) -> list[SentMessage]:
        messages = await self.sandbox.wait_for_messages(user.chat_id, before + count, timeout=15)
        return messages[before:]

    async def outbox(self, chat_id: int) -> list[OutboxMessage]:
        """The outbox rows to a chat, oldest first."""
        async with self.core.services.uow() as session:
            rows = await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id)
                .order_by(OutboxMessage.id)
            )
            return list(rows)

    async def outcome_of_next(self, chat_id: int, queued_before: int) -> OutboxMessage:
        """The row queued after the first `queued_before` to the chat, once the sender is
        done with it (sent or failed for good)."""
        for _ in range(400):  # up to 20 s: a loaded CI machine can be slow
            rows = await self.outbox(chat_id)
            if len(rows) > queued_before and rows[-1].status != "pending":
                return rows[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"chat {chat_id}: no outcome for its next message in 20 s")

    async def tap(self, user: SandboxUser, message: SentMessage, label: str) -> SentMessage:
        """Press the inline button labelled `label` and return the one reply it causes."""
        before = len(user.messages())
        user.press(message.message_id, button_data(message, label))
        [reply] = await self.replies(user, before)
        return reply

    async def add_participant(
        self, name: str = "Sam", language: str | None = None
    ) -> tuple[str, str]:
        """A participant in the test cohort; returns his reference and enrolment code."""
        view, code = await admin.add_participant(
            self.core.services, ACTOR, name, "Thursday A", "om@example.org", language, None
        )
        return view.reference, code.code

    async def enrol(self, user: SandboxUser, name: str = "Sam") -> str:
        reference, code = await self.add_participant(name)
        [welcome] = await self.say(user, f"/start {code.replace('-', '')}")
        assert "linked" in (welcome.text or "")
        return reference


def button_data(message: SentMessage, label: str) -> str:
    for row in (message.reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            if button["text"] == label:
                return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {message.reply_markup}")


def button_labels(message: SentMessage) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    return [str(button["text"]) for row in rows for button in row]


@functools.cache
def _spec() -> BotApiSpec | None:
    path = find_spec_path()
    return BotApiSpec.load(path) if path else None


@contextlib.asynccontextmanager
async def running_harness(
    database_url: str,
    profile: Profile,
    clock: FakeClock,
    tmp_path: Path,
    **run_options: Any,
) -> AsyncIterator[Harness]:
    """A sandbox, a seeded database (one OM, one cohort) and the bot running against them."""
    spec = _spec()
    if spec is None:
        if os.environ.get("CI"):
            pytest.fail("../shared/telegram/api.json is missing in CI")
        pytest.skip("../shared/telegram/api.json is absent: Bot API spec checks cannot run")
    sandbox = BotApiSandbox(TOKEN, spec=spec, bot_username="companion_test_bot")
    await sandbox.start()
    settings = make_settings(
        database_url,
        tmp_path,
        bot_token=TOKEN,
        bot_api_url=sandbox.url,
        webhook_secret=run_options.pop("webhook_secret", None),
    )
    core = build_core(settings, profile)
    core.services.clock = clock
    await admin.add_staff(
        core.services, ACTOR, "om@example.org", "Dana Fictional", "offender_manager", "01234 567890"
    )
    await admin.add_cohort(
        core.services, ACTOR, "Thursday A", date(2026, 12, 3), time(18), "Room 2, Example House"
    )
    harness = Harness(sandbox, core, clock, run_options)
    try:
        await harness.start_bot()
        yield harness
    finally:
        await harness.stop_bot()
        await core.close()
        await sandbox.stop()
    assert sandbox.violations == [], "requests the Bot API spec does not allow"


@pytest.fixture
async def harness(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Harness]:
    async with running_harness(database_url, profile, clock, tmp_path) as running:
        yield running
