"""Intake: an update is stored before it is acknowledged, and a failure while storing or
handling it loses nothing: it is handled later, once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot import intake
from bot.config import Profile
from bot.db import intake as table
from bot.db.models import InboundUpdate, OutboxMessage
from bot.services import chat
from tests.conftest import FakeClock, free_port
from tests.telegram.conftest import Harness, running_harness


def database_down(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, times: int
) -> list[int]:
    """`module.name` fails as a lost database connection would, `times` times."""
    real = getattr(module, name)
    failures: list[int] = []

    async def failing(*args: object, **kwargs: object) -> object:
        if len(failures) < times:
            failures.append(1)
            raise OperationalError("SELECT 1", {}, ConnectionError("database restarting"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return failures


@contextlib.asynccontextmanager
async def webhook_harness(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[Harness, int]]:
    """The bot in webhook mode on a free local port, and the port."""
    port = free_port()
    async with running_harness(
        database_url,
        profile,
        clock,
        tmp_path,
        webhook_url=f"http://127.0.0.1:{port}/telegram",
        listen="127.0.0.1",
        port=port,
        webhook_secret="s3cret-" * 5,
    ) as harness:
        yield harness, port


async def stored(harness: Harness, update_id: int) -> InboundUpdate | None:
    async with harness.core.services.uow() as session:
        return await session.get(InboundUpdate, update_id)


async def marked_handled(harness: Harness, update_id: int) -> InboundUpdate:
    """Its stored row once marked handled (stored updates are marked a moment after)."""
    for _ in range(100):
        row = await stored(harness, update_id)
        assert row is not None
        if row.processed_at is not None:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"update {update_id} is still not marked handled")


def acknowledgements(harness: Harness, update_id: int) -> list[float]:
    """When the bot asked for updates past this one (which tells Telegram it has it)."""
    return [
        call.at
        for call in harness.sandbox.calls_to("getUpdates")
        if int(call.params.get("offset") or 0) > update_id
    ]


async def test_polling_an_update_handled_at_once_is_acknowledged_without_storing_it_first(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handled before the next poll: its answer, committed with its effects, claims it."""
    monkeypatch.setattr(intake, "SETTLE", 10.0)  # however slow this machine is
    user = harness.sandbox.user(4105, "Sam")
    await harness.enrol(user)
    stores: list[int] = []
    real_store = table.store_updates

    async def counted(*args: object, **kwargs: object) -> None:
        stores.append(1)
        await real_store(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(table, "store_updates", counted)
    before = len(user.messages())
    update_id = user.send_text("/help")
    [reply] = await harness.replies(user, before)
    assert (reply.text or "").startswith("What I can do")
    await harness.sandbox.wait_until(
        lambda: bool(acknowledgements(harness, update_id)), what="the acknowledgement"
    )
    assert stores == []
    assert await stored(harness, update_id) is None
    async with harness.core.services.uow() as session:
        claims = await session.scalars(
            select(OutboxMessage.text).where(OutboxMessage.update_id == update_id)
        )
        assert [text.startswith("What I can do") for text in claims if text] == [True]


async def test_polling_an_update_neither_handled_nor_stored_is_not_acknowledged(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = harness.sandbox.user(4101, "Sam")
    await harness.enrol(user)
    # His update is slow to handle (the database is busy), and storing it fails twice.
    busy = asyncio.Event()
    real_load = chat._linked_participant

    async def slow_load(*args: object, **kwargs: object) -> object:
        await busy.wait()
        return await real_load(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(chat, "_linked_participant", slow_load)
    failures = database_down(monkeypatch, table, "store_updates", times=2)
    stored_at: list[float] = []
    failing_store = table.store_updates

    async def timed_store(*args: object, **kwargs: object) -> None:
        await failing_store(*args, **kwargs)  # type: ignore[arg-type]
        stored_at.append(time.monotonic())

    monkeypatch.setattr(table, "store_updates", timed_store)
    before = len(user.messages())
    update_id = user.send_text("/help")
    await harness.sandbox.wait_until(lambda: bool(stored_at), what="the update stored", timeout=15)
    await harness.sandbox.wait_until(
        lambda: bool(acknowledgements(harness, update_id)), what="the acknowledgement"
    )
    assert len(failures) == 2
    # Telegram was told only once it was stored.
    assert min(acknowledgements(harness, update_id)) > stored_at[0]
    row = await stored(harness, update_id)
    assert row is not None and row.processed_at is None and row.payload is not None
    busy.set()
    [reply] = await harness.replies(user, before)
    assert (reply.text or "").startswith("What I can do")
    row = await marked_handled(harness, update_id)
    assert row.payload is None


async def test_a_failure_while_handling_is_retried_once_the_database_is_back(
    harness: Harness, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = harness.sandbox.user(4102, "Sam")
    await harness.enrol(user)
    failures = database_down(monkeypatch, chat, "_linked_participant", times=1)
    before = len(user.messages())
    update_id = user.send_text("/progress")
    await harness.sandbox.wait_until(lambda: bool(failures), what="the failure")
    # Stored, not handled, his words still there to try again.
    for _ in range(100):
        row = await stored(harness, update_id)
        if row is not None and row.attempts:
            break
        await asyncio.sleep(0.05)
    assert row is not None and row.processed_at is None and row.payload is not None
    assert row.attempts == 1 and "database restarting" in (row.last_error or "")
    clock.advance(timedelta(minutes=2))  # past the retry's back-off
    [reply] = await harness.replies(user, before)
    assert (reply.text or "").startswith("Your progress")
    row = await marked_handled(harness, update_id)
    assert row.payload is None


async def test_webhook_answers_503_until_the_update_is_stored(
    database_url: str,
    profile: Profile,
    clock: FakeClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with webhook_harness(database_url, profile, clock, tmp_path) as (harness, port):
        harness.sandbox.webhook_retry_delay = 0.2
        stranger = harness.sandbox.user(4103, "Alex")
        failures = database_down(monkeypatch, table, "store_updates", times=2)
        [reply] = await harness.say(stranger, "/start")
        assert "you need a code" in (reply.text or "")
        assert len(failures) == 2
        assert harness.sandbox.webhook_failures == []
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/readyz") as answer:
                assert answer.status == 200
            async with client.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 200
        async with harness.core.services.uow() as session:
            last = await session.scalar(select(func.max(InboundUpdate.update_id)))
        assert last is not None
        await marked_handled(harness, last)


async def test_webhook_a_crashed_processs_stored_update_is_handled_once_its_hold_ends(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> None:
    """A webhook process stored an update, answered 200 and died (SIGKILL) before handling
    it. Another process, or this one restarted, cannot tell a dead process's update from a
    live one's at first: it handles it once the receiver's hold has run out."""
    async with webhook_harness(database_url, profile, clock, tmp_path) as (harness, _):
        sam = harness.sandbox.user(4104, "Sam")
        update_id = 990_001
        payload = {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": int(clock().timestamp()),
                "chat": {"id": sam.chat_id, "type": "private", "first_name": "Sam"},
                "from": {"id": sam.id, "is_bot": False, "first_name": "Sam"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        }
        async with harness.core.services.uow() as session:  # what the dead process did
            await table.store_updates(session, [payload], clock(), timedelta(seconds=30))
            await session.commit()
        await asyncio.sleep(0.5)
        assert sam.messages() == []  # still held by the process that received it
        clock.advance(timedelta(seconds=31))
        [reply] = await harness.replies(sam, 0)
        assert "you need a code" in (reply.text or "")  # he is not enrolled: handled as such
        row = await marked_handled(harness, update_id)
        assert row.payload is None


async def test_a_stored_update_already_answered_is_found_done_when_retried(
    harness: Harness, clock: FakeClock
) -> None:
    """A process answered a stored update and died before marking it handled: the retry
    finds its answer (the claim) and changes nothing, and the update is marked handled."""
    user = harness.sandbox.user(4106, "Sam")
    await harness.enrol(user)
    before = len(user.messages())
    update_id = user.send_text("/progress")
    [reply] = await harness.replies(user, before)
    assert (reply.text or "").startswith("Your progress")
    async with harness.core.services.uow() as session:  # as the dead process left it
        await table.store_updates(
            session, [harness.sandbox.update(update_id)], clock(), timedelta(seconds=30)
        )
        await session.commit()
    clock.advance(timedelta(seconds=31))  # its hold is over: any process may retry it
    row = await marked_handled(harness, update_id)
    assert row.payload is None
    await asyncio.sleep(0.5)
    assert len(user.messages()) == before + 1
