"""The phone page over HTTP: it shows the bot's messages and keyboards, and what a visitor does
there reaches the bot as real updates through the sandbox."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.sandbox import BotApiSandbox, BotApiSpec
from bot.sandbox.phone import (
    Phone,
    SignIn,
    entities_html,
    make_phone_app,
    reply_keyboard,
    start_parameter,
)

TOKEN = "123456789:AAHphone-page-test-token"
SAM = Phone(501, "Sam Example", "Sam", "en", "On track.")
ALEX = Phone(502, "Alex Example", "Alex", "en", "Not linked yet.", start_code="K3QX9M2PA7")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JSON = {"Accept": "application/json"}


class Directory:
    def __init__(self) -> None:
        self.sign_in = SignIn(
            "Offender Manager",
            "Dana Fictional",
            "dana@example.org",
            "demo-password",
            "123456",
            12,
            False,
        )

    async def phones(self) -> list[Phone]:
        return [SAM, ALEX]

    async def sign_ins(self) -> list[SignIn]:
        return [self.sign_in]


@dataclass
class Page:
    sandbox: BotApiSandbox
    client: aiohttp.ClientSession

    async def bot(self, method: str, **params: Any) -> dict[str, Any]:
        """A Bot API call, as the bot would make it."""
        async with self.client.post(
            f"{self.sandbox.url}/bot{TOKEN}/{method}", json=params
        ) as answer:
            body: dict[str, Any] = await answer.json()
        assert body["ok"], body
        result: dict[str, Any] = body["result"]
        return result

    async def html(self, path: str) -> str:
        async with self.client.get(path) as answer:
            assert answer.status == 200
            return await answer.text()

    async def post(self, path: str, data: Any, **headers: str) -> aiohttp.ClientResponse:
        async with self.client.post(
            path, data=data, headers=headers, allow_redirects=False
        ) as answer:
            await answer.read()
            return answer


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    sandbox = BotApiSandbox(TOKEN, spec=BotApiSpec.load_default())
    await sandbox.start()
    server = TestServer(make_phone_app(sandbox, Directory(), dashboard_url="http://127.0.0.1:9"))
    await server.start_server()
    client = aiohttp.ClientSession(base_url=str(server.make_url("")))
    try:
        yield Page(sandbox, client)
    finally:
        await client.close()
        await server.close()
        await sandbox.stop()
    assert sandbox.violations == []


def _update_message(sandbox: BotApiSandbox, update_id: int) -> dict[str, Any]:
    update = sandbox.update(update_id)
    message: dict[str, Any] = update["message"]
    return message


async def test_the_list_links_each_phone_and_the_waiting_deep_link(page: Page) -> None:
    html = await page.html("/")
    assert '<a href="/phone?as=501">Sam Example</a>' in html
    assert '<a href="/phone?as=502&amp;start=K3QX9M2PA7">Alex Example</a>' in html
    async with page.client.get("/phone?as=999", allow_redirects=False) as answer:
        assert (answer.status, answer.headers["Location"]) == (303, "/")
    async with page.client.get("/") as answer:
        assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in answer.headers["Content-Security-Policy"]


async def test_a_deep_link_offers_start_which_sends_the_code(page: Page) -> None:
    html = await page.html("/phone?as=502&start=K3QX9M2PA7")
    assert 'name="text" value="/start K3QX9M2PA7"' in html
    assert '<button type="submit" class="start">Start</button>' in html
    before = page.sandbox.pending_update_count
    answer = await page.post("/phone/send", {"as": "502", "text": "/start K3QX9M2PA7"}, **JSON)
    assert answer.status == 200
    assert page.sandbox.pending_update_count == before + 1
    [queued] = [u for u in range(1, 10) if _has(page.sandbox, u)]
    message = _update_message(page.sandbox, queued)
    assert message["text"] == "/start K3QX9M2PA7"
    assert message["from"]["id"] == 502
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    # Without a code there is no Start button.
    assert 'class="start"' not in await page.html("/phone?as=502")


async def test_a_link_without_a_phone_asks_which_phone_opens_it(page: Page) -> None:
    """The demo dashboard's enrolment links name no phone (like a real t.me link, which opens
    on whichever phone follows it), so the visitor picks one and gets its Start button."""
    async with page.client.get("/phone?start=QW7RT2YP", allow_redirects=False) as answer:
        assert (answer.status, answer.headers["Location"]) == (303, "/?start=QW7RT2YP")
    html = await page.html("/?start=QW7RT2YP")
    assert "You opened an enrolment link. Choose the phone to open it on" in html
    assert '<a href="/phone?as=501&amp;start=QW7RT2YP">Sam Example</a>' in html
    # The link's code wins over the one waiting for Alex's phone.
    assert '<a href="/phone?as=502&amp;start=QW7RT2YP">Alex Example</a>' in html
    assert 'name="text" value="/start QW7RT2YP"' in await page.html("/phone?as=501&start=QW7RT2YP")
    # Without a code it is the ordinary list.
    async with page.client.get("/phone", allow_redirects=False) as answer:
        assert answer.headers["Location"] == "/"
    assert "You opened an enrolment link" not in await page.html("/")


def _has(sandbox: BotApiSandbox, update_id: int) -> bool:
    try:
        sandbox.update(update_id)
    except KeyError:
        return False
    return True


async def test_a_code_or_t_me_link_from_the_dashboard_opens_the_start_button() -> None:
    assert start_parameter("https://t.me/companion_demo_bot?start=K3QX9M2PA7") == "K3QX9M2PA7"
    assert start_parameter("t.me/companion_demo_bot?start=AB-12") == "AB-12"
    assert start_parameter(" K3QX9 M2PA7 ") == "K3QX9M2PA7"
    assert start_parameter("<script>") == "script"
    assert start_parameter("https://example.org/no-code") == ""
    assert start_parameter("http://127.0.0.1:8180/phone?start=K3QX9M2PA7") == "K3QX9M2PA7"


async def test_inline_buttons_press_as_callback_queries(page: Page) -> None:
    page.sandbox.user(SAM.user_id, SAM.first_name)
    sent = await page.bot(
        "sendMessage",
        chat_id=SAM.user_id,
        text="Which session?",
        reply_markup={"inline_keyboard": [[{"text": "Thursday", "callback_data": "abs:t:s:7"}]]},
    )
    html = await page.html("/phone?as=501")
    assert "Which session?" in html
    assert 'name="data" value="abs:t:s:7"' in html
    assert f'name="message_id" value="{sent["message_id"]}"' in html
    form = {"as": "501", "message_id": str(sent["message_id"]), "data": "abs:t:s:7"}
    answer = await page.post("/phone/press", form, **JSON)
    assert answer.status == 200
    [call] = [
        page.sandbox.update(u)["callback_query"]
        for u in range(1, 10)
        if _has(page.sandbox, u) and "callback_query" in page.sandbox.update(u)
    ]
    assert (call["data"], call["from"]["id"], call["message"]["text"]) == (
        "abs:t:s:7",
        501,
        "Which session?",
    )
    # The bot's answer to the press shows on the page.
    await page.bot("answerCallbackQuery", callback_query_id=call["id"], text="Noted.")
    assert '<p id="notice" class="notice" role="status" aria-live="polite">Noted.</p>' in (
        await page.html("/phone?as=501")
    )
    # A button the message does not have (an old page, a forged form) sends nothing.
    before = page.sandbox.pending_update_count
    form["data"] = "abs:t:s:8"
    await page.post("/phone/press", form, **JSON)
    assert page.sandbox.pending_update_count == before


async def test_the_reply_keyboard_is_the_last_one_until_removed(page: Page) -> None:
    page.sandbox.user(SAM.user_id, SAM.first_name)
    menu = {"keyboard": [[{"text": "I can't come"}], [{"text": "My progress"}]]}
    await page.bot("sendMessage", chat_id=501, text="Hello.", reply_markup=menu)
    html = await page.html("/phone?as=501")
    assert 'name="text" value="I can&#39;t come"' in html
    await page.bot("sendMessage", chat_id=501, text="Bye.", reply_markup={"remove_keyboard": True})
    assert "reply-keyboard" not in await page.html("/phone?as=501")
    assert reply_keyboard([menu, None, {"inline_keyboard": []}]) == (
        [["I can't come"], ["My progress"]],
        None,
    )


async def test_a_plain_form_post_waits_for_the_answer_then_shows_the_chat(page: Page) -> None:
    page.sandbox.user(SAM.user_id, SAM.first_name)

    async def bot_answers() -> None:
        await page.sandbox.wait_until(lambda: page.sandbox.pending_update_count > 0)
        await asyncio.sleep(0.2)
        await page.bot("sendMessage", chat_id=501, text="Got it.")

    answering = asyncio.create_task(bot_answers())
    started = time.monotonic()
    answer = await page.post("/phone/send", {"as": "501", "text": "hello"})
    await answering
    assert answer.status == 303
    assert answer.headers["Location"] == "/phone?as=501#composer"
    # It waited for the bot (not the whole three seconds).
    assert 0.2 <= time.monotonic() - started < 2.5
    html = await page.html("/phone?as=501")
    assert re.search(r'class="bubble mine">.*?hello', html, re.S)
    assert re.search(r'class="bubble theirs">.*?Got it\.', html, re.S)


async def test_updates_long_poll_wakes_when_the_chat_changes(page: Page) -> None:
    page.sandbox.user(SAM.user_id, SAM.first_name)
    async with page.client.get("/phone/updates", params={"as": "501"}) as answer:
        first = await answer.json()
    assert "No messages yet." in first["messages"]

    async def later() -> None:
        await asyncio.sleep(0.3)
        await page.bot("sendMessage", chat_id=501, text="A reminder.")

    task = asyncio.create_task(later())
    started = time.monotonic()
    params = {"as": "501", "seen": first["etag"], "wait": "10"}
    async with page.client.get("/phone/updates", params=params) as answer:
        second = await answer.json()
    await task
    assert time.monotonic() - started < 5
    assert second["etag"] != first["etag"]
    assert "A reminder." in second["messages"]
    # Nothing new: it waits out `wait` and answers with the same etag.
    params = {"as": "501", "seen": second["etag"], "wait": "0.3"}
    async with page.client.get("/phone/updates", params=params) as answer:
        assert (await answer.json())["etag"] == second["etag"]


async def test_photos_and_files_are_sent_and_shown_only_in_their_chat(page: Page) -> None:
    page.sandbox.user(SAM.user_id, SAM.first_name)
    photo = aiohttp.FormData()
    photo.add_field("as", "501")
    photo.add_field("caption", "My sick note")
    photo.add_field("file", PNG, filename="note.png", content_type="image/png")
    assert (await page.post("/phone/upload", photo, **JSON)).status == 200
    document = aiohttp.FormData()
    document.add_field("as", "501")
    document.add_field(
        "file", b"%PDF-1.4 note", filename="note.pdf", content_type="application/pdf"
    )
    assert (await page.post("/phone/upload", document, **JSON)).status == 200
    messages = [page.sandbox.update(u)["message"] for u in range(1, 10) if _has(page.sandbox, u)]
    assert [("photo" in m, "document" in m) for m in messages] == [(True, False), (False, True)]
    assert messages[0]["caption"] == "My sick note"
    assert messages[1]["document"]["file_name"] == "note.pdf"
    photo_id = messages[0]["photo"][-1]["file_id"]
    document_id = messages[1]["document"]["file_id"]
    html = await page.html("/phone?as=501")
    assert f'src="/phone/file/501/{photo_id}" alt="A photo you sent"' in html
    async with page.client.get(f"/phone/file/501/{photo_id}") as answer:
        assert (answer.content_type, await answer.read()) == ("image/png", PNG)
    async with page.client.get(f"/phone/file/501/{document_id}") as answer:
        assert answer.content_type == "application/octet-stream"
        assert answer.headers["Content-Disposition"] == 'attachment; filename="note.pdf"'
    # Another phone's page cannot fetch it.
    page.sandbox.user(ALEX.user_id, ALEX.first_name)
    async with page.client.get(f"/phone/file/502/{photo_id}") as answer:
        assert answer.status == 404


async def test_posts_from_another_site_are_refused(page: Page) -> None:
    before = page.sandbox.pending_update_count
    form = {"as": "501", "text": "hello"}
    refused = await page.post("/phone/send", form, **{"Sec-Fetch-Site": "cross-site"})
    assert refused.status == 403
    refused = await page.post("/phone/send", form, Origin="https://example.org")
    assert refused.status == 403
    assert page.sandbox.pending_update_count == before
    assert (await page.post("/phone/send", {"as": "999", "text": "hi"}, **JSON)).status == 404


async def test_staff_sign_ins_show_the_current_code(page: Page) -> None:
    html = await page.html("/staff")
    assert "dana@example.org" in html and "demo-password" in html
    assert '<code class="code">123456</code>' in html
    async with page.client.get("/staff/codes") as answer:
        assert await answer.json() == [
            {"email": "dana@example.org", "code": "123456", "seconds_left": 12, "used": False}
        ]


def test_entities_become_html_and_everything_else_is_escaped() -> None:
    text = "Hi <b>Sam</b> 😀 bold see https://example.org"
    entities = [
        {"type": "bold", "offset": 17, "length": 4},
        {"type": "url", "offset": 26, "length": 19},
        {"type": "mention", "offset": 0, "length": 2},
    ]
    assert str(entities_html(text, entities)) == (
        "Hi &lt;b&gt;Sam&lt;/b&gt; 😀 <strong>bold</strong> see "
        '<a href="https://example.org" rel="noopener noreferrer">https://example.org</a>'
    )
    nested = [
        {"type": "bold", "offset": 0, "length": 5},
        {"type": "italic", "offset": 2, "length": 3},
    ]
    assert str(entities_html("abcde", nested)) == "<strong>ab<em>cde</em></strong>"
    crossing = [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 3},
    ]
    assert str(entities_html("a<cde", crossing)) == "a&lt;cde"
    link = [{"type": "text_link", "offset": 0, "length": 4, "url": "javascript:alert(1)"}]
    assert str(entities_html("here", link)) == "here"
