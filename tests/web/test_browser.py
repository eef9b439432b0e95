"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): an absence
reported through the bot is decided by his Offender Manager, and the decision reaches his
chat on the local Bot API server. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from bot.config import Profile
from bot.services import staff_auth
from handlers.web.app import make_web_app
from tests.conftest import FakeClock
from tests.telegram.conftest import ACTOR, Harness, button_data, running_harness
from tests.web.conftest import PASSWORD

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
        token, _ = await staff_auth.issue_password_link(
            harness.core.services, ACTOR, "om@example.org"
        )
        await staff_auth.set_password(harness.core.services, token, PASSWORD, "127.0.0.1")
        server = TestServer(make_web_app(harness.core.services), host="127.0.0.1")
        await server.start_server()
        try:
            yield harness, str(server.make_url("")).rstrip("/")
        finally:
            await server.close()


async def test_om_decides_an_absence_in_the_browser_and_he_is_told(
    system: tuple[Harness, str], browser: Browser, artifacts: Path
) -> None:
    harness, url = system
    # Sam reports that he is ill, through the bot.
    user = harness.sandbox.user(9501, "Sam")
    await harness.enrol(user)
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "I am ill")
    summary = await harness.tap(user, ask, "Skip")
    before = len(user.messages())
    user.press(summary.message_id, button_data(summary, "Send it"))
    await harness.replies(user, before, 2)

    page = await browser.new_page()
    await page.goto(f"{url}/")
    await page.screenshot(path=artifacts / "sign-in.png", full_page=True)
    await page.get_by_label("Email").fill("om@example.org")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{url}/sign-in/set-up")
    await page.screenshot(path=artifacts / "totp-set-up.png", full_page=True)
    secret = (await page.locator("#secret").inner_text()).replace(" ", "")
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).at(harness.clock.now))
    await page.get_by_role("button", name="Finish").click()
    await page.wait_for_url(f"{url}/")
    await page.screenshot(path=artifacts / "queue.png", full_page=True)
    await page.get_by_role("link", name="Absence to decide").click()
    await page.get_by_label("Acceptable", exact=True).check()
    await page.get_by_label("A short message to him (optional)").fill("Get well soon.")
    await page.screenshot(path=artifacts / "absence.png", full_page=True)
    before = len(user.messages())
    await page.get_by_role("button", name="Send decision").click()
    await page.wait_for_load_state()
    assert "Send decision" not in await page.content()

    [told] = await harness.replies(user, before)
    assert (told.text or "").startswith(
        "Update about your session on Thursday, 3 December 2026 at 18:00."
    )
    assert (told.text or "").endswith("Message from your Offender Manager: Get well soon.")
    # On a phone-sized screen the queue still reads.
    await page.set_viewport_size({"width": 375, "height": 740})
    await page.goto(f"{url}/")
    await page.screenshot(path=artifacts / "queue-phone.png", full_page=True)
