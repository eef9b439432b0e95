"""Three bot processes in webhook mode behind a load balancer, on one PostgreSQL database:
reminders for a 2,000-strong cohort go out once each, participants' messages are answered
once each whichever process takes them, and a PostgreSQL restart mid-run loses nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import insert, select

from bot.app import build_core
from bot.config import Profile
from bot.db.models import Participant, Staff, TelegramLink
from bot.sandbox import BotApiSandbox, RateLimits
from bot.services import admin
from bot.services.context import system_clock
from tests.conftest import free_port, make_settings
from tests.faults.processes import BotProcess, bot_environment
from tests.postgres import PostgresServer

TOKEN = "123456:SCALE-token"
PEOPLE = 2_000
PROCESSES = 3
RATE = 150  # Telegram's 30 a second, raised (as for paid broadcasts) to save time
REMINDER = "Reminder: your group session starts soon."


@pytest.fixture
async def sandbox() -> AsyncIterator[BotApiSandbox]:
    async with BotApiSandbox(TOKEN, rate_limits=RateLimits(per_second=RATE)) as running:
        # Like Telegram, keep offering an update until a process takes it.
        running.webhook_attempts = 1_000
        running.webhook_retry_delay = 0.25
        yield running


async def load_balancer(backends: list[str]) -> tuple[web.AppRunner, str]:
    """Round robin over the processes, skipping one that does not answer (nginx's way)."""
    turns = itertools.cycle(range(len(backends)))
    client = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        for _ in backends:
            backend = backends[next(turns)]
            try:
                async with client.post(
                    backend + request.path, data=body, headers=dict(request.headers)
                ) as answer:
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502)

    async def close(_app: web.Application) -> None:
        await client.close()

    app = web.Application()
    app.router.add_post("/{path:.*}", forward)
    app.on_cleanup.append(close)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


async def seed(url: str, profile: Profile, tmp_path: Path, sandbox: BotApiSandbox) -> list[int]:
    """A cohort whose session starts in about 70 minutes: everyone's reminder is due now."""
    core = build_core(make_settings(url, tmp_path), profile)
    services = core.services
    await admin.add_staff(
        services, "cli:t", "om@example.org", "Dana Fictional", "offender_manager", "01234 567890"
    )
    starts = (system_clock() + timedelta(minutes=70)).astimezone(profile.zone)
    cohort = await admin.add_cohort(
        services,
        "cli:t",
        "Evening",
        starts.date(),
        starts.time().replace(second=0, microsecond=0),
        "Room 2",
    )
    chats = [sandbox.user(900_000 + n, f"Person {n}").chat_id for n in range(PEOPLE)]
    async with services.uow() as session:
        om = await session.scalar(select(Staff.id))
        cohort_id = cohort.id
        result = await session.execute(
            insert(Participant).returning(Participant.id),
            [
                {
                    "reference": f"P-S{n:05d}",
                    "name": f"Person {n}",
                    "cohort_id": cohort_id,
                    "offender_manager_id": om,
                }
                for n in range(PEOPLE)
            ],
        )
        ids = list(result.scalars())
        await session.execute(
            insert(TelegramLink),
            [
                {
                    "participant_id": pid,
                    "telegram_user_id": chat,
                    "chat_id": chat,
                    "linked_at": datetime.now().astimezone(),
                }
                for pid, chat in zip(ids, chats, strict=True)
            ],
        )
        await session.commit()
    await core.close()
    return chats


async def wait_ready(
    processes: list[BotProcess],
    urls: list[str],
    timeout: float = 60,  # noqa: ASYNC109
) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as client:
        for process, url in zip(processes, urls, strict=True):
            while True:
                process.check_alive()
                try:
                    async with client.get(url + "/readyz") as answer:
                        if answer.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert time.monotonic() < deadline, f"{url} never became ready"
                await asyncio.sleep(0.2)


async def test_three_processes_one_postgresql_restarted_mid_run(
    request: pytest.FixtureRequest,
    database_url: str,
    profile: Profile,
    tmp_path: Path,
    sandbox: BotApiSandbox,
    figures: list[str],
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share one PostgreSQL database")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    chats = await seed(database_url, profile, tmp_path, sandbox)

    ports = [free_port() for _ in range(PROCESSES)]
    backends = [f"http://127.0.0.1:{port}" for port in ports]
    balancer, public_url = await load_balancer(backends)
    ops_ports = [free_port() for _ in range(PROCESSES)]
    processes = []
    for n, port in enumerate(ports):
        env = bot_environment(database_url, sandbox.url, TOKEN, tmp_path)
        env.update(
            COMPANION_WEBHOOK_SECRET="scale-out-test-secret-0123456789",
            COMPANION_SEND_RATE=str(RATE),
            COMPANION_OPS_LISTEN=f"127.0.0.1:{ops_ports[n]}",
        )
        args = ["--no-web", "--webhook-url", f"{public_url}/telegram", "--port", str(port)]
        processes.append(BotProcess(env, args, tmp_path / f"bot-{n}.log"))
    started = time.monotonic()
    try:
        for process in processes:
            process.start()
        await wait_ready(processes, backends)
        # Meanwhile, 300 of them ask for their progress, through the load balancer.
        askers = random.Random(3).sample(chats, 300)
        for chat in askers:
            sandbox.user(chat, "Asker").send_text("/progress")

        def reminded() -> int:
            return sum(
                1
                for chat in chats
                for m in sandbox.messages_to(chat)
                if (m.text or "").startswith(REMINDER)
            )

        await sandbox.wait_until(
            lambda: reminded() >= PEOPLE // 4, timeout=120, what="a quarter of the reminders"
        )
        restart_started = time.monotonic()
        await asyncio.to_thread(server.restart)
        restart_seconds = time.monotonic() - restart_started
        for chat in askers[:100]:
            sandbox.user(chat, "Asker").send_text("/contacts")

        def answered() -> bool:
            replies = sum(
                1
                for chat in askers
                for m in sandbox.messages_to(chat)
                if (m.text or "").startswith(("Your progress", "Contacts\n"))
            )
            return reminded() >= PEOPLE and replies >= len(askers) + 100

        await sandbox.wait_until(answered, timeout=240, what="every reminder and answer")
        seconds = time.monotonic() - started
        await asyncio.sleep(2.0)  # a repeat, if any, would arrive now
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://127.0.0.1:{ops_ports[0]}/metrics") as answer,
        ):
            metrics = await answer.text()
    finally:
        for process in processes:
            await process.stop()
        await balancer.cleanup()

    for chat in chats:
        reminders = [m for m in sandbox.messages_to(chat) if (m.text or "").startswith(REMINDER)]
        assert len(reminders) == 1, f"chat {chat}: {len(reminders)} reminders"
    for chat in askers:
        texts = [m.text or "" for m in sandbox.messages_to(chat)]
        assert sum(t.startswith("Your progress") for t in texts) == 1, texts
    for chat in askers[:100]:
        texts = [m.text or "" for m in sandbox.messages_to(chat)]
        assert sum(t.startswith("Contacts\n") for t in texts) == 1, texts
    assert sandbox.rate_limits is not None
    assert sandbox.rate_limit_hits == 0, sandbox.rate_limits.hits_by_limit
    assert "companion_outbox_depth" in metrics and "companion_queue_items_overdue" in metrics
    figures.append(
        f"scale-out: {PROCESSES} webhook processes, PostgreSQL restarted mid-run "
        f"({restart_seconds:.1f} s): {PEOPLE} reminders once each, 400 answers once each, "
        f"in {seconds:.1f} s, 0 over the limits ({RATE}/s)"
    )
