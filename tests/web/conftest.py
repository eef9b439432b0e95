"""The dashboard served by aiohttp's test server on 127.0.0.1, with a seeded database."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

import aiohttp
import pyotp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright
from sqlalchemy import select

from bot.app import Core, build_core
from bot.config import Profile
from bot.db.models import Staff
from bot.services import admin, staff_auth
from bot.services.context import ServiceContext
from handlers.web.app import make_web_app
from tests.conftest import FakeClock, make_settings
from tests.telegram.conftest import Harness, running_harness

ACTOR = "cli:tester"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Dashboard:
    core: Core
    clock: FakeClock
    server: TestServer

    def client(self) -> aiohttp.ClientSession:
        """A new browser: its own cookie jar (one that keeps cookies for 127.0.0.1)."""
        return aiohttp.ClientSession(
            base_url=str(self.server.make_url("")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        )

    async def add_staff(self, email: str, role: str, name: str = "Staff Fictional") -> None:
        await admin.add_staff(self.core.services, ACTOR, email, name, role, "01234 567890")
        await self.give_password(email)

    async def give_password(self, email: str) -> None:
        await give_password(self.core.services, email)

    async def totp(self, email: str) -> pyotp.TOTP:
        async with self.core.services.uow() as session:
            secret = await session.scalar(select(Staff.totp_secret).where(Staff.email == email))
        assert secret is not None
        return pyotp.TOTP(secret)

    async def sign_in(self, client: aiohttp.ClientSession, email: str) -> None:
        """Password, then the TOTP code (setting it up the first time)."""
        page = await client.get("/sign-in")
        token = csrf(await page.text())
        answer = await client.post(
            "/sign-in",
            data={"csrf_token": token, "email": email, "password": PASSWORD},
            allow_redirects=False,
        )
        assert answer.status == 303, await answer.text()
        step = answer.headers["Location"]
        page = await client.get(step)
        html = await page.text()
        token = csrf(html)
        # First time: the key is on the set-up page (kept with the session until confirmed).
        totp = pyotp.TOTP(setup_key(html)) if step.endswith("set-up") else await self.totp(email)
        code = totp.at(self.clock.now)
        done = await client.post(
            step, data={"csrf_token": token, "code": code}, allow_redirects=False
        )
        assert (done.status, done.headers.get("Location")) == (303, "/"), await done.text()
        # The next code step, so a later sign-in in the same test gets a fresh code.
        self.clock.advance(timedelta(seconds=30))


async def give_password(services: ServiceContext, email: str) -> None:
    token, _ = await staff_auth.issue_password_link(services, ACTOR, email)
    await staff_auth.set_password(services, token, PASSWORD, "127.0.0.1")


def setup_key(html: str) -> str:
    match = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', html)
    assert match, "no key on the set-up page"
    return match.group(1).replace(" ", "")


def csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
async def dashboard(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[Dashboard]:
    core = build_core(make_settings(database_url, tmp_path), profile)
    core.services.clock = clock
    await admin.add_staff(
        core.services, ACTOR, "om@example.org", "Dana Fictional", "offender_manager", "01234 567890"
    )
    await admin.add_cohort(
        core.services, ACTOR, "Thursday A", date(2026, 12, 3), time(18), "Room 2, Example House"
    )
    server = TestServer(make_web_app(core.services), host="127.0.0.1")
    await server.start_server()
    board = Dashboard(core, clock, server)
    await board.give_password("om@example.org")
    try:
        yield board
    finally:
        await server.close()
        await core.close()


ARTIFACTS = Path(os.environ.get("COMPANION_TEST_ARTIFACTS", "test-artifacts"))
# Chromium as root in a closed network: no sandbox, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing; .ci/run installs it")
        pytest.skip("chromium not installed: apt-get install chromium")
    return path


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def system(
    database_url: str, profile: Profile, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[tuple[Harness, str]]:
    """The bot on the local Bot API server and the dashboard, on one database."""
    async with running_harness(database_url, profile, clock, tmp_path) as harness:
        await give_password(harness.core.services, "om@example.org")
        server = TestServer(make_web_app(harness.core.services), host="127.0.0.1")
        await server.start_server()
        try:
            yield harness, str(server.make_url("")).rstrip("/")
        finally:
            await server.close()
