"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): an absence
reported through the bot is decided by his Offender Manager, and the decision reaches his
chat on the local Bot API server. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pyotp
from playwright.async_api import Browser, Page

from tests.conftest import FakeClock
from tests.telegram.conftest import Harness, button_data
from tests.telegram.test_complaints import CHIEF, SPO, _raise, _staff
from tests.web.conftest import PASSWORD, Dashboard, give_password


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


async def test_the_idle_warning_lets_staff_stay_signed_in(
    dashboard: Dashboard, browser: Browser, artifacts: Path
) -> None:
    """WCAG 2.2.1: two minutes before the idle sign-out a warning offers to stay."""
    url = str(dashboard.server.make_url("")).rstrip("/")
    page = await browser.new_page()
    await page.clock.install()
    await page.goto(f"{url}/sign-in")
    await page.get_by_label("Email").fill("om@example.org")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{url}/sign-in/set-up")
    secret = (await page.locator("#secret").inner_text()).replace(" ", "")
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).at(dashboard.clock.now))
    await page.get_by_role("button", name="Finish").click()
    await page.wait_for_url(f"{url}/")
    warning = page.get_by_role("alertdialog")
    assert not await warning.is_visible()
    await page.clock.fast_forward("28:01")
    assert await warning.is_visible()
    assert await page.evaluate("document.activeElement.id") == "timeout-stay"
    await page.screenshot(path=artifacts / "idle-warning.png", full_page=True)
    async with page.expect_response(f"{url}/keep-alive") as answer:
        await warning.get_by_role("button", name="Stay signed in").click()
    assert (await answer.value).status == 204
    assert not await warning.is_visible()


async def _sign_in(page: Page, url: str, email: str, clock: FakeClock) -> None:
    """Password, then setting up the second factor (first sign-in)."""
    await page.goto(f"{url}/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{url}/sign-in/set-up")
    secret = (await page.locator("#secret").inner_text()).replace(" ", "")
    await page.get_by_label("Code").fill(pyotp.TOTP(secret).at(clock.now))
    await page.get_by_role("button", name="Finish").click()
    await page.wait_for_url(f"{url}/")


async def test_spo_replies_he_escalates_and_the_chief_officer_sees_it(
    system: tuple[Harness, str], browser: Browser, artifacts: Path
) -> None:
    harness, url = system
    await _staff(harness)
    for email in (SPO, CHIEF):
        await give_password(harness.core.services, email)
    user = harness.sandbox.user(9502, "Sam")
    await harness.enrol(user)
    reference, _ = await _raise(harness, user, "I was treated unfairly", "Someone else")

    spo = await browser.new_page()
    await _sign_in(spo, url, SPO, harness.clock)
    await spo.get_by_role("link", name="Complaint to acknowledge (stage 1)").click()
    before = len(user.messages())
    await spo.get_by_role("button", name="Acknowledge (tell him it has been read)").click()
    await spo.wait_for_load_state()
    await spo.get_by_label("Your answer (he reads it in the chat)").fill(
        "We looked into it. Sorry."
    )
    await spo.screenshot(path=artifacts / "complaint.png", full_page=True)
    await spo.get_by_role("button", name="Send reply").click()
    await spo.wait_for_load_state()
    _ack, words, answer = await harness.replies(user, before, 3)
    assert "We looked into it. Sorry." in (words.text or "")

    ask = await harness.tap(user, answer, "I'm not satisfied")
    assert "Chief Officer" in (ask.text or "")
    [check] = await harness.say(user, "Nothing has changed.")
    await harness.tap(user, check, "Send it")

    chief = await browser.new_page()
    await _sign_in(chief, url, CHIEF, harness.clock)
    await chief.get_by_role("link", name="Complaint to acknowledge (stage 2)").click()
    assert reference in await chief.content()
    assert "Nothing has changed." in await chief.content()
    # The SPO's queue no longer holds it: stage 2 is the Chief Officer's.
    await spo.goto(f"{url}/")
    assert reference not in await spo.content()
