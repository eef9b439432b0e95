"""The demo in a real headless Chromium (Debian's, driven by Playwright), as a visitor uses it:
Alex enrols on the phone page through his deep link and reports an absence with the buttons;
his Offender Manager signs in to the dashboard with the demo's code and decides it; the
decision arrives on the phone page while it is open, without reloading. Screenshots go to
test-artifacts/ (and to docs/ for the README with COMPANION_DOCS_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot import messages
from bot.demo import data
from bot.demo.stack import RunningDemo
from bot.services import admin
from tests.demo.conftest import demo_options, demo_running
from tests.web.conftest import ARTIFACTS, CHROMIUM_ARGS, _chromium
from tests.web.test_accessibility import _violations

DOCS = Path(__file__).resolve().parents[2] / "docs"


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


async def _shot(page: Page, name: str, *, docs: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    await page.screenshot(path=path)
    if docs and os.environ.get("COMPANION_DOCS_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS / name)


async def _next_session(demo: RunningDemo) -> datetime:
    ctx = demo.core.services
    [cohort] = await admin.list_cohorts(ctx)
    return min(s.starts_at for s in cohort.sessions if s.starts_at > ctx.now())


async def test_alex_enrols_reports_an_absence_and_sees_his_om_decide_it(
    tmp_path: Path, browser: Browser
) -> None:
    async with demo_running(demo_options(tmp_path)) as demo:
        t = demo.core.services.catalogs.translator()
        context = await browser.new_context(viewport={"width": 480, "height": 900})
        phone = await context.new_page()
        await phone.goto(f"{demo.phone_url}/")
        await phone.get_by_role("link", name="Alex Example").click()
        await phone.get_by_role("button", name="Start").click()
        chat = phone.get_by_role("log")
        await expect(chat).to_contain_text("Welcome, Alex Example.")
        # The deep link's panel is gone and the address no longer carries the code.
        assert "start=" not in phone.url
        await expect(phone.get_by_role("button", name="Start")).to_have_count(0)

        await phone.get_by_role("button", name=t._(messages.MENU_ABSENCE)).click()
        label = messages.session_label(t, await _next_session(demo))
        await chat.get_by_role("button", name=label).click()
        await chat.get_by_role("button", name="I am ill").click()
        await chat.get_by_role("button", name="Skip").last.click()
        await expect(chat).to_contain_text("Please check")
        await chat.get_by_role("button", name="Send it").last.click()
        await expect(chat.locator(".bubble.theirs").last).to_contain_text("sick note")
        await _shot(phone, "demo-phone-reported.png")

        # His Offender Manager signs in with the demo's password and current code.
        staff = await context.new_page()
        await staff.goto(f"{demo.phone_url}/staff")
        row = staff.get_by_role("row").filter(has_text=data.OFFENDER_MANAGER.email)
        password = (await row.locator("td").nth(3).inner_text()).strip()
        code = (await row.locator(".code").inner_text()).strip()
        await _shot(staff, "demo-staff-sign-ins.png")

        board = await context.new_page()
        await board.set_viewport_size({"width": 1000, "height": 700})
        await board.goto(f"{demo.dashboard_url}/")
        await board.get_by_label("Email").fill(data.OFFENDER_MANAGER.email)
        await board.get_by_label("Password").fill(password)
        await board.get_by_role("button", name="Sign in").click()
        await board.wait_for_url(f"{demo.dashboard_url}/sign-in/code")
        await board.get_by_label("Code").fill(code)
        await board.get_by_role("button", name="Continue").click()
        await board.wait_for_url(f"{demo.dashboard_url}/")
        await _shot(board, "demo-dashboard.png", docs=True)
        alex = board.get_by_role("row").filter(has_text="Alex Example")
        await alex.get_by_role("link", name="Absence to decide").click()
        await board.get_by_label("Acceptable", exact=True).check()
        await board.get_by_label("A short message to him (optional)").fill("Get well soon.")
        await board.get_by_role("button", name="Send decision").click()
        await board.wait_for_load_state()
        assert "Send decision" not in await board.content()

        # The phone page, open all this time, shows the decision without a reload.
        await phone.bring_to_front()
        await expect(chat).to_contain_text("Message from your Offender Manager: Get well soon.")
        await expect(chat.locator(".bubble.theirs").last).to_contain_text("Get well soon.")
        await phone.set_viewport_size({"width": 480, "height": 1100})
        await phone.reload()
        await expect(phone.get_by_text("Linked his phone during the demo.")).to_be_visible()
        await phone.evaluate("window.scrollTo(0, 0)")
        await _shot(phone, "demo-phone.png", docs=True)

        # The demo's own pages pass axe-core's WCAG 2.2 AA checks (its script injected).
        checked = await browser.new_context(bypass_csp=True)
        page = await checked.new_page()
        for path in ("/", "/phone?as=7100008", "/staff", "/phone?as=7100004"):
            await page.goto(f"{demo.phone_url}{path}")
            assert await _violations(page) == [], path
        await checked.close()
        await context.close()
