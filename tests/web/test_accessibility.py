"""axe-core (from npm) finds no WCAG 2.2 AA violations on the sign-in, queue and item pages,
in English and in Welsh."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.async_api import Browser, Page

from tests.telegram.conftest import Harness, button_data
from tests.web.conftest import PASSWORD, setup_key

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _axe() -> Path:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing; `make test` installs it with npm")
        pytest.skip("axe-core not installed: run `npm install`")
    return AXE


async def _violations(page: Page) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(_axe()))
    result: dict[str, Any] = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    # axe really looked: rules passed as well (colour contrast, labels, landmarks...).
    passed = {rule["id"] for rule in result["passes"]}
    assert {"color-contrast", "html-has-lang"} <= passed, passed
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]
    ]


async def test_main_pages_have_no_wcag_violations(
    system: tuple[Harness, str], browser: Browser
) -> None:
    harness, url = system
    user = harness.sandbox.user(9601, "Sam")
    await harness.enrol(user)
    [sessions] = await harness.say(user, "/absence")
    reasons = await harness.tap(user, sessions, "Thursday, 3 December 2026 at 18:00")
    ask = await harness.tap(user, reasons, "I am ill")
    summary = await harness.tap(user, ask, "Skip")
    before = len(user.messages())
    user.press(summary.message_id, button_data(summary, "Send it"))
    await harness.replies(user, before, 2)

    # The CSP allows only our own script files; axe is injected by the test.
    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{url}/sign-in")
    assert await _violations(page) == [], "sign-in"
    await page.get_by_label("Email").fill("om@example.org")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{url}/sign-in/set-up")
    assert await _violations(page) == [], "set-up"
    key = setup_key(await page.content())
    await page.get_by_label("Code").fill(pyotp.TOTP(key).at(harness.clock.now))
    await page.get_by_role("button", name="Finish").click()
    await page.wait_for_url(f"{url}/")
    assert await _violations(page) == [], "queue"
    await page.get_by_role("link", name="Absence to decide").click()
    assert await _violations(page) == [], "absence"
    # The timeout warning as it shows two minutes before the idle sign-out.
    await page.evaluate("document.getElementById('timeout-warning').hidden = false")
    assert await _violations(page) == [], "idle warning"
    for path in ("/participants", "/saved-replies", "/telegram"):
        await page.goto(f"{url}{path}")
        assert await _violations(page) == [], path
    await page.get_by_role("link", name="Participants").click()
    await page.locator("main table a").first.click()
    assert await _violations(page) == [], "participant record"
    # In Welsh (the header's switch): the same pages, lang="cy".
    await page.get_by_role("button", name="Cymraeg").click()
    await page.wait_for_selector("html[lang=cy]")
    assert await _violations(page) == [], "participant record (Welsh)"
    await page.goto(f"{url}/")
    assert await page.get_attribute("html", "lang") == "cy"
    assert await _violations(page) == [], "queue (Welsh)"
    await page.get_by_role("link", name="Absenoldeb i benderfynu arno").click()
    assert await _violations(page) == [], "absence (Welsh)"
    await context.close()
    # Signing in, in Welsh because the browser asks for it.
    welsh = await browser.new_context(bypass_csp=True, locale="cy-GB")
    page = await welsh.new_page()
    await page.goto(f"{url}/sign-in")
    assert await page.get_attribute("html", "lang") == "cy"
    assert await _violations(page) == [], "sign-in (Welsh)"
    await welsh.close()
