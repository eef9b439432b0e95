"""Messages that can never reach a participant (he blocked the bot, Telegram has no such chat)
are shown to the staff who see his record: how many, when, why and what to do."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.config import Profile
from bot.db.models import OutboxMessage, Participant, TelegramLink
from bot.services import admin
from handlers.web.app import make_web_app
from tests.conftest import FakeClock
from tests.telegram.conftest import Harness, running_harness
from tests.web.conftest import ACTOR, Dashboard
from tests.web.test_welsh import WELSH, _english_left

OM, FACILITATOR = "om@example.org", "fac@example.org"
BLOCKED = "403: Forbidden: bot was blocked by the user"  # as the sender records it
HEADING = "Messages not reaching him"


async def _participant(dashboard: Dashboard, name: str, chat_id: int) -> tuple[str, int]:
    """Someone in Dana's caseload with a linked phone; his reference and id."""
    services = dashboard.core.services
    view, _code = await admin.add_participant(services, ACTOR, name, "Thursday A", OM, None, None)
    async with services.uow() as session:
        participant = await session.scalar(
            select(Participant).where(Participant.reference == view.reference)
        )
        assert participant is not None
        session.add(
            TelegramLink(
                participant_id=participant.id,
                telegram_user_id=chat_id,
                chat_id=chat_id,
                linked_at=dashboard.clock.now,
            )
        )
        await session.commit()
        return view.reference, participant.id


async def _message(
    dashboard: Dashboard, participant_id: int, chat_id: int, at: datetime, error: str | None
) -> None:
    """A message to him as the sender leaves it: sent, or failed for good with `error`."""
    async with dashboard.core.services.uow() as session:
        session.add(
            OutboxMessage(
                chat_id=chat_id,
                participant_id=participant_id,
                text="Reminder: your session is tomorrow.",
                bulk=True,
                status="failed" if error else "sent",
                attempts=1,
                created_at=at,
                next_attempt_at=at,
                sent_at=None if error else at,
                last_error=error,
            )
        )
        await session.commit()


async def test_his_om_sees_he_blocked_the_bot_and_only_his_own_failures_count(
    dashboard: Dashboard,
) -> None:
    await dashboard.add_staff(FACILITATOR, "facilitator", "Flo Fictional")
    await admin.add_cohort_facilitator(dashboard.core.services, ACTOR, "Thursday A", FACILITATOR)
    # Kim had the phone Sam has now; a message to Kim failed on it.
    kim, kim_id = await _participant(dashboard, "Kim", 7701)
    day = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    await _message(dashboard, kim_id, 7701, day, "400: Chat not found")
    async with dashboard.core.services.uow() as session:
        link = await session.scalar(select(TelegramLink).where(TelegramLink.chat_id == 7701))
        assert link is not None
        link.unlinked_at = day
        await session.commit()
    sam, sam_id = await _participant(dashboard, "Sam", 7701)
    alex, alex_id = await _participant(dashboard, "Alex", 7702)
    await _message(dashboard, sam_id, 7701, day + timedelta(days=1), BLOCKED)
    await _message(dashboard, sam_id, 7701, day + timedelta(days=2, hours=1), BLOCKED)
    # Alex: one failed once, but a later one reached him, so that trouble is over.
    await _message(dashboard, alex_id, 7702, day, "400: Chat not found")
    await _message(dashboard, alex_id, 7702, day + timedelta(days=1), None)

    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        page = await (await browser.get(f"/participants/{sam}")).text()
        assert HEADING in page
        assert "2 messages" in page
        assert "3 December 2026 09:00" in page  # the last failure, in UK time
        assert "He has blocked the bot." in page
        assert "Ask him to open the bot in Telegram and unblock it." in page
        other = await (await browser.get(f"/participants/{alex}")).text()
        assert "Alex" in other and HEADING not in other and "blocked" not in other
        kims = await (await browser.get(f"/participants/{kim}")).text()
        assert HEADING in kims and "1 message" in kims and "Telegram would not take" in kims
        people = await (await browser.get("/participants")).text()
        assert "Messages are not reaching 2 of them." in people
        rows = [row for row in people.split("<tr>") if "messages not reaching him" in row]
        assert {ref for ref in (sam, kim, alex) if any(ref in row for row in rows)} == {sam, kim}
        # The page in Welsh: the notice too.
        welsh = await (await browser.get(f"/participants/{sam}", headers=WELSH)).text()
        assert "Mae wedi rhwystro&#39;r bot." in welsh
        assert _english_left(welsh) == []
    # Anyone else who may see his record sees it too: his cohort's facilitator.
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, FACILITATOR)
        page = await (await browser.get(f"/participants/{sam}")).text()
        assert HEADING in page and "He has blocked the bot." in page


@pytest.fixture
async def bot_and_dashboard(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[Harness, Dashboard]]:
    """The bot on the local Bot API server, and the dashboard on the same database."""
    async with running_harness(database_url, profile, clock, tmp_path) as harness:
        server = TestServer(make_web_app(harness.core.services), host="127.0.0.1")
        await server.start_server()
        board = Dashboard(harness.core, harness.clock, server)
        await board.give_password(OM)
        try:
            yield harness, board
        finally:
            await server.close()


async def test_chat_not_found_fails_once_shows_on_his_page_and_clears_when_one_arrives(
    bot_and_dashboard: tuple[Harness, Dashboard],
) -> None:
    harness, dashboard = bot_and_dashboard
    user = harness.sandbox.user(4101, "Sam")
    reference = await harness.enrol(user)
    queued_before = len(await harness.outbox(user.chat_id))
    harness.sandbox.faults.fail_next("sendMessage", 400, "Bad Request: chat not found")
    user.send_text("/progress")
    failed = await harness.outcome_of_next(user.chat_id, queued_before)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error is not None and failed.last_error.startswith("400: ")
    assert "chat not found" in failed.last_error.lower()

    # Never tried again, however long the sender runs.
    def calls() -> int:
        sends = harness.sandbox.calls_to("sendMessage")
        return sum(1 for call in sends if call.params.get("chat_id") == user.chat_id)

    calls_before, received = calls(), len(user.messages())
    for _ in range(5):
        harness.clock.advance(timedelta(minutes=10))
        harness.core.services.on_outbox_written()
        await asyncio.sleep(0.1)
    assert (calls(), len(user.messages())) == (calls_before, received)
    assert (await harness.outbox(user.chat_id))[-1].status == "failed"

    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        page = await (await browser.get(f"/participants/{reference}")).text()
        assert HEADING in page and "1 message" in page
        assert "Telegram would not take them." in page
        assert "Check his phone link" in page
        # The next message reaches him: the notice goes.
        await harness.say(user, "/progress")
        for _ in range(100):
            if (await harness.outbox(user.chat_id))[-1].status == "sent":
                break
            await asyncio.sleep(0.05)
        page = await (await browser.get(f"/participants/{reference}")).text()
        assert HEADING not in page
