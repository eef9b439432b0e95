"""Signing in to the dashboard: password, TOTP, sessions, CSRF, throttling and headers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
import pyotp
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.db.models import AuditEntry, SignInAttempt
from bot.services import admin, staff_auth
from handlers.web.app import make_web_app
from tests.web.conftest import PASSWORD, Dashboard, csrf, setup_key

OM = "om@example.org"


async def test_first_sign_in_sets_up_the_code_then_shows_the_queue(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        start = await browser.get("/", allow_redirects=False)
        assert (start.status, start.headers["Location"]) == (303, "/sign-in")
        page = await browser.get("/sign-in")
        answer = await browser.post(
            "/sign-in",
            data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
            allow_redirects=False,
        )
        assert answer.headers["Location"] == "/sign-in/set-up"
        # Not signed in yet: the queue still sends him to the second step.
        halfway = await browser.get("/", allow_redirects=False)
        assert halfway.headers["Location"] == "/sign-in/set-up"
        set_up = await browser.get("/sign-in/set-up")
        html = await set_up.text()
        assert 'src="data:image/svg+xml;base64,' in html and "Key:" in html
        wrong = await browser.post(
            "/sign-in/set-up", data={"csrf_token": csrf(html), "code": "000000"}
        )
        assert wrong.status == 401 and "That code is not right" in await wrong.text()
        code = pyotp.TOTP(setup_key(html)).at(dashboard.clock.now)
        done = await browser.post(
            "/sign-in/set-up",
            data={"csrf_token": csrf(html), "code": code},
            allow_redirects=False,
        )
        assert done.headers["Location"] == "/"
        queue = await browser.get("/")
        assert queue.status == 200
        assert "<h1>Your queue</h1>" in await queue.text()
        # The same code cannot be used twice.
        other = dashboard.client()
        async with other:
            page = await other.get("/sign-in")
            await other.post(
                "/sign-in",
                data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
            )
            page = await other.get("/sign-in/code")
            replay = await other.post(
                "/sign-in/code", data={"csrf_token": csrf(await page.text()), "code": code}
            )
            assert replay.status == 401


async def test_the_session_cookie_is_renewed_and_locked_down(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        page = await browser.get("/sign-in")
        cookie = page.cookies["companion_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
        before = cookie.value
        answer = await browser.post(
            "/sign-in",
            data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
            allow_redirects=False,
        )
        assert answer.cookies["companion_session"].value != before


async def test_pages_have_strict_headers_and_are_not_cached(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        for path in ("/sign-in", "/"):
            page = await browser.get(path)
            headers = page.headers
            assert headers["Cache-Control"] == "no-store"
            assert "default-src 'none'" in headers["Content-Security-Policy"]
            # Scripts only from our own files: never inline, never from elsewhere.
            assert "script-src 'self';" in headers["Content-Security-Policy"]
            assert "unsafe-inline" not in headers["Content-Security-Policy"]
            assert headers["X-Frame-Options"] == "DENY"
            assert headers["X-Content-Type-Options"] == "nosniff"
            assert headers["Referrer-Policy"] == "no-referrer"


async def test_a_post_without_the_sessions_csrf_token_is_refused(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser, dashboard.client() as attacker:
        await dashboard.sign_in(browser, OM)
        missing = await browser.post("/sign-out", data={})
        assert missing.status == 403
        page = await attacker.get("/sign-in")
        forged = await browser.post("/sign-out", data={"csrf_token": csrf(await page.text())})
        assert forged.status == 403
        still = await browser.get("/", allow_redirects=False)
        assert still.status == 200


async def test_sign_out_ends_the_session_for_good(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        queue = await browser.get("/")
        cookie = browser.cookie_jar.filter_cookies(dashboard.server.make_url("/"))
        token = cookie["companion_session"].value
        out = await browser.post(
            "/sign-out", data={"csrf_token": csrf(await queue.text())}, allow_redirects=False
        )
        assert out.headers["Location"] == "/sign-in"
    # The old cookie, replayed by another browser, is dead.
    async with dashboard.client() as replay:
        replay.cookie_jar.update_cookies(
            {"companion_session": token}, dashboard.server.make_url("/")
        )
        page = await replay.get("/", allow_redirects=False)
        assert page.headers["Location"] == "/sign-in"


async def test_sessions_end_after_30_idle_minutes_and_after_12_hours(
    dashboard: Dashboard,
) -> None:
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        dashboard.clock.advance(timedelta(minutes=29))
        assert (await browser.get("/", allow_redirects=False)).status == 200
        dashboard.clock.advance(timedelta(minutes=31))
        assert (await browser.get("/", allow_redirects=False)).headers["Location"] == "/sign-in"
    async with dashboard.client() as busy:
        await dashboard.sign_in(busy, OM)
        for _ in range(25):  # active all day, never idle for long
            dashboard.clock.advance(timedelta(minutes=29))
            page = await busy.get("/", allow_redirects=False)
        assert page.headers.get("Location") == "/sign-in"


async def test_wrong_passwords_are_throttled_per_account_and_audited(
    dashboard: Dashboard,
) -> None:
    async with dashboard.client() as browser:
        for _ in range(5):
            page = await browser.get("/sign-in")
            wrong = await browser.post(
                "/sign-in",
                data={"csrf_token": csrf(await page.text()), "email": OM, "password": "nope"},
            )
            assert wrong.status == 401
            assert "That email and password do not match." in await wrong.text()
        page = await browser.get("/sign-in")
        right = await browser.post(
            "/sign-in",
            data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
        )
        assert right.status == 401 and "Too many tries" in await right.text()
        dashboard.clock.advance(timedelta(minutes=16))
        page = await browser.get("/sign-in")
        later = await browser.post(
            "/sign-in",
            data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
            allow_redirects=False,
        )
        assert later.status == 303
    async with dashboard.core.services.uow() as session:
        results = [
            (entry.details or {}).get("result")
            for entry in await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "staff.sign_in")
            )
        ]
    assert results == ["wrong"] * 5 + ["throttled", "password"]


async def test_an_unknown_email_gets_the_same_answer(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        page = await browser.get("/sign-in")
        answer = await browser.post(
            "/sign-in",
            data={
                "csrf_token": csrf(await page.text()),
                "email": "nobody@example.org",
                "password": PASSWORD,
            },
        )
        assert answer.status == 401
        assert "That email and password do not match." in await answer.text()


async def test_a_password_link_works_once(dashboard: Dashboard) -> None:
    services = dashboard.core.services
    await admin.add_staff(services, "cli:t", "new@example.org", "New Fictional", "admin", None)
    token, _ = await staff_auth.issue_password_link(services, "cli:t", "new@example.org")
    async with dashboard.client() as browser:
        page = await browser.get(f"/set-password/{token}")
        assert "Hello, New Fictional." in await page.text()
        short = await browser.post(
            f"/set-password/{token}",
            data={"csrf_token": csrf(await page.text()), "password": "short", "repeat": "short"},
        )
        assert short.status == 400 and "12 to 128 characters" in await short.text()
        done = await browser.post(
            f"/set-password/{token}",
            data={"csrf_token": csrf(await page.text()), "password": PASSWORD, "repeat": PASSWORD},
            allow_redirects=False,
        )
        assert done.headers["Location"] == "/sign-in?password-set"
        again = await browser.get(f"/set-password/{token}")
        assert again.status == 404


async def test_disabling_an_account_ends_its_sessions(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        assert (await browser.get("/", allow_redirects=False)).status == 200
        await admin.set_staff_active(dashboard.core.services, "cli:t", OM, False)
        assert (await browser.get("/", allow_redirects=False)).headers["Location"] == "/sign-in"
        page = await browser.get("/sign-in")
        refused = await browser.post(
            "/sign-in",
            data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
        )
        assert refused.status == 401


async def test_wrong_tries_from_one_address_are_throttled_across_accounts(
    dashboard: Dashboard,
) -> None:
    async with dashboard.client() as browser:
        for n in range(20):
            page = await browser.get("/sign-in")
            await browser.post(
                "/sign-in",
                data={
                    "csrf_token": csrf(await page.text()),
                    "email": f"guess{n}@example.org",
                    "password": "nope",
                },
            )
        page = await browser.get("/sign-in")
        right = await browser.post(
            "/sign-in",
            data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
        )
        assert right.status == 401 and "Too many tries" in await right.text()


async def test_staff_get_a_telegram_code_from_the_dashboard(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        page = await browser.get("/telegram")
        assert "alerts are off" in await page.text()
        issued = await browser.post("/telegram", data={"csrf_token": csrf(await page.text())})
        html = await issued.text()
        assert "Send this to the bot in Telegram within 7 days: <code>/start " in html


async def test_a_reset_stops_the_old_password_at_once(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
    await staff_auth.issue_password_link(
        dashboard.core.services, "cli:t", OM, reset_second_factor=True
    )
    async with dashboard.client() as thief:
        page = await thief.get("/sign-in")
        refused = await thief.post(
            "/sign-in",
            data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
        )
        assert refused.status == 401


async def test_the_set_up_key_belongs_to_one_session(dashboard: Dashboard) -> None:
    async with dashboard.client() as first, dashboard.client() as second:
        keys = []
        for browser in (first, second):
            page = await browser.get("/sign-in")
            await browser.post(
                "/sign-in",
                data={"csrf_token": csrf(await page.text()), "email": OM, "password": PASSWORD},
            )
            keys.append(setup_key(await (await browser.get("/sign-in/set-up")).text()))
        assert keys[0] != keys[1]


async def test_behind_a_trusted_proxy_the_client_address_is_throttled_not_the_proxy(
    dashboard: Dashboard,
) -> None:
    app = make_web_app(
        dashboard.core.services, public_https=True, trusted_proxies=frozenset({"127.0.0.1"})
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
    try:
        async with aiohttp.ClientSession(
            base_url=str(server.make_url("")), cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as proxy:
            page = await proxy.get("/sign-in", headers=forwarded)
            # Served as https by the proxy: HSTS, and a __Host- cookie that is Secure.
            assert "Strict-Transport-Security" in page.headers
            assert page.cookies["__Host-companion_session"]["secure"]
            token = csrf(await page.text())
            # The cookie is Secure, so this plain-http test client must send it by hand.
            session_id = page.cookies["__Host-companion_session"].value
            await proxy.post(
                "/sign-in",
                data={"csrf_token": token, "email": OM, "password": "wrong"},
                headers={**forwarded, "Cookie": f"__Host-companion_session={session_id}"},
            )
    finally:
        await server.close()
    async with dashboard.core.services.uow() as session:
        addresses = list(await session.scalars(select(SignInAttempt.address)))
    assert addresses == ["203.0.113.9"]


async def test_tries_sent_all_at_once_still_get_only_five_checks(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        page = await browser.get("/sign-in")
        token = csrf(await page.text())

        async def wrong() -> int:
            answer = await browser.post(
                "/sign-in", data={"csrf_token": token, "email": OM, "password": "nope"}
            )
            return answer.status

        statuses = await asyncio.gather(*(wrong() for _ in range(30)))
    assert set(statuses) == {401}
    async with dashboard.core.services.uow() as session:
        results = [
            (entry.details or {}).get("result")
            for entry in await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "staff.sign_in")
            )
        ]
    assert results.count("wrong") <= 5
    assert results.count("throttled") >= 25
