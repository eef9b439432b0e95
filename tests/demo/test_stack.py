"""The running demo from the outside: what `companion demo` prints (its two addresses, the
staff sign-ins, what to try) works as printed, and the dashboard's enrolment links and QR
codes open the demo's own phone page, never real Telegram."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp

from bot.demo import data
from bot.demo.stack import TIPS, banner
from handlers.web.app import qr_data_uri
from tests.demo.conftest import demo_options, demo_running
from tests.web.conftest import csrf

README = Path(__file__).resolve().parents[2] / "README.md"


def _one(pattern: str, text: str) -> str:
    found = re.findall(pattern, text, re.M)
    assert len(found) == 1, (pattern, text)
    return str(found[0])


def _banner_tips(text: str) -> list[str]:
    """The numbered "What to try" list, its wrapped lines joined again."""
    section = text.split("\nWhat to try:\n", 1)[1].split("\n\n", 1)[0]
    return [" ".join(item.split()) for item in re.split(r"^  \d\. ", section, flags=re.M)[1:]]


def _readme_tips() -> list[str]:
    section = README.read_text().split("\nWhat to try:\n\n", 1)[1].split("\n\n", 1)[0]
    items = re.split(r"^\d\. ", section, flags=re.M)[1:]
    plain = [re.sub(r"\*\*(.+?)\*\*", r"“\1”", item).replace("`", "") for item in items]
    return [" ".join(item.split()) for item in plain]


def test_the_readme_and_the_demo_suggest_the_same_things_to_try() -> None:
    assert _readme_tips() == list(TIPS)


async def test_the_banner_works_as_printed_and_links_stay_on_this_computer(
    tmp_path: Path,
) -> None:
    options = demo_options(tmp_path)
    async with demo_running(options) as demo:
        text = await banner(demo)
        phone_url = _one(r"^  Phone page \(be a participant\): (\S+)/$", text)
        dashboard_url = _one(r"^  Staff dashboard: +(\S+)/$", text)
        assert phone_url == f"http://127.0.0.1:{options.phone_port}"
        assert dashboard_url == f"http://127.0.0.1:{options.dashboard_port}"
        password = _one(r"^Staff sign-ins \(password for each: (\S+)\):$", text)
        for person in data.STAFF:
            assert re.search(rf"^  .+  {re.escape(person.email)}  \({person.name}\)$", text, re.M)
        alex_link = _one(r"^Alex Example has not linked his phone yet: (\S+)$", text)
        assert _banner_tips(text) == list(TIPS)
        assert "t.me" not in text

        jar = aiohttp.CookieJar(unsafe=True)  # keeps the dashboard's cookies for 127.0.0.1
        async with aiohttp.ClientSession(cookie_jar=jar) as client:
            async with client.get(f"{phone_url}/") as answer:
                assert answer.status == 200
                assert "Try Programme Companion" in await answer.text()
            async with client.get(alex_link) as answer:
                assert 'class="start">Start</button>' in await answer.text()

            # Dana signs in with the printed password and the phone page's code for now.
            async with client.get(f"{dashboard_url}/") as answer:
                assert answer.url.path == "/sign-in"
                token = csrf(await answer.text())
            form = {"csrf_token": token, "email": data.OFFENDER_MANAGER.email}
            async with client.post(
                f"{dashboard_url}/sign-in", data={**form, "password": password}
            ) as answer:
                assert answer.url.path == "/sign-in/code", await answer.text()
                token = csrf(await answer.text())
            async with client.get(f"{phone_url}/staff/codes") as answer:
                codes = {row["email"]: row["code"] for row in await answer.json()}
            code = codes[data.OFFENDER_MANAGER.email]
            async with client.post(
                f"{dashboard_url}/sign-in/code", data={"csrf_token": token, "code": code}
            ) as answer:
                assert answer.url.path == "/", await answer.text()

            # A new code for Alex: its link and QR code open the phone page on 127.0.0.1.
            reference = (await data.references(demo.core.services))[data.NOT_ENROLLED.key]
            async with client.get(f"{dashboard_url}/participants/{reference}") as answer:
                token = csrf(await answer.text())
            async with client.post(
                f"{dashboard_url}/participants/{reference}/code", data={"csrf_token": token}
            ) as answer:
                assert answer.status == 200
                page = await answer.text()
            assert "t.me" not in page
            link = _one(rf'<a href="({re.escape(phone_url)}/phone\?start=\w+)">', page)
            assert f'src="{qr_data_uri(link)}"' in page
            start = link.rpartition("=")[2]

            # Her own code for Telegram alerts, too.
            async with client.get(f"{dashboard_url}/telegram") as answer:
                token = csrf(await answer.text())
            async with client.post(
                f"{dashboard_url}/telegram", data={"csrf_token": token}
            ) as answer:
                staff_page = await answer.text()
            assert "t.me" not in staff_page
            assert f'<a href="{phone_url}/phone?start=' in staff_page

            # The link asks which phone opens it; on Alex's, Start links his phone.
            async with client.get(link) as answer:
                assert str(answer.url) == f"{phone_url}/?start={start}"
                chooser = await answer.text()
            alex_phone = f"/phone?as={data.NOT_ENROLLED.phone_id}&amp;start={start}"
            assert f'<a href="{alex_phone}">Alex Example</a>' in chooser
            async with client.post(
                f"{phone_url}/phone/send",
                data={"as": str(data.NOT_ENROLLED.phone_id), "text": f"/start {start}"},
            ) as answer:
                assert answer.status == 200
        await demo.sandbox.wait_until(
            lambda: any(
                "Welcome, Alex Example." in (m.text or "")
                for m in demo.sandbox.messages_to(data.NOT_ENROLLED.phone_id)
            ),
            timeout=10,
        )
