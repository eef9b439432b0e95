"""The sandbox at the HTTP level: envelopes, decoding, long polling, webhooks, result shapes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.sandbox import BotApiSandbox, BotApiSpec

from .conftest import TOKEN


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    sandbox: BotApiSandbox,
    method: str,
    *,
    token: str = TOKEN,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    """POST a JSON body, as any non-PTB client could."""
    async with http.post(f"{sandbox.url}/bot{token}/{method}", json=params) as resp:
        return resp.status, await resp.json()


async def test_envelopes_for_token_and_method_errors(
    sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    assert await call(http, sandbox, "getMe", token="1:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    status, body = await call(http, sandbox, "sendTelepathy")
    assert (status, body["error_code"], body["description"]) == (404, 404, "Not Found")
    if sandbox.spec is not None:
        assert sandbox.violations == ["unknown method 'sendTelepathy'"]


async def test_get_with_query_and_case_insensitive_methods(
    sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{sandbox.url}/bot{TOKEN}/GETME") as resp:
        me = await resp.json()
    assert me["ok"] and me["result"]["is_bot"] and me["result"]["can_join_groups"]
    alice = sandbox.user(7, "Alice")
    query = {"chat_id": "7", "text": "42", "disable_notification": "true"}
    async with http.get(f"{sandbox.url}/bot{TOKEN}/sendmessage", params=query) as resp:
        sent = await resp.json()
    assert sent["result"]["text"] == "42"  # a String param stays a string
    assert sandbox.calls[-1].method == "sendMessage"
    assert sandbox.calls[-1].params["disable_notification"] is True
    assert [m.text for m in alice.messages()] == ["42"]


async def test_missing_required_param_is_a_violation(
    spec: BotApiSpec, sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    sandbox.user(7, "Alice")
    async with http.post(f"{sandbox.url}/bot{TOKEN}/sendMessage", data={"chat_id": "7"}) as resp:
        body = await resp.json()
        assert resp.status == 400
    assert body["description"] == "Bad Request: sendMessage: missing required parameter 'text'"
    assert sandbox.violations == ["sendMessage: missing required parameter 'text'"]
    assert sandbox.messages_to(7) == []


async def test_unsupported_method_is_reported(
    spec: BotApiSpec, sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, sandbox, "sendDice", chat_id=7)
    assert (status, body["description"]) == (
        400,
        "Bad Request: method not supported by the sandbox",
    )
    assert sandbox.violations == ["sendDice: method not supported by the sandbox"]


async def test_malformed_json_body(sandbox: BotApiSandbox, http: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/json"}
    url = f"{sandbox.url}/bot{TOKEN}/getMe"
    async with http.post(url, data="{nope", headers=headers) as resp:
        assert resp.status == 400
    assert sandbox.violations == ["getMe: request body is not a JSON object"]


async def test_chat_errors(sandbox: BotApiSandbox, http: aiohttp.ClientSession) -> None:
    status, body = await call(http, sandbox, "sendMessage", chat_id=999, text="hi")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    group = sandbox.group(-500, "Staff")
    assert (await call(http, sandbox, "sendMessage", chat_id=-500, text="hi"))[0] == 200
    assert await call(http, sandbox, "leaveChat", chat_id=-500) == (
        200,
        {"ok": True, "result": True},
    )
    status, body = await call(http, sandbox, "sendMessage", chat_id=-500, text="hi")
    assert (status, body["description"]) == (
        403,
        "Forbidden: bot is not a member of the group chat",
    )
    assert len(group.messages()) == 1
    assert sandbox.violations == []


async def test_long_poll_is_answered_at_once_on_stop(
    maybe_spec: BotApiSpec | None, http: aiohttp.ClientSession
) -> None:
    box = BotApiSandbox(TOKEN, spec=maybe_spec)
    await box.start()
    poll = asyncio.create_task(call(http, box, "getUpdates", timeout=30))
    await box.wait_until(lambda: box.polls_waiting == 1, 5)
    started = time.monotonic()
    await box.stop()
    assert time.monotonic() - started < 0.5
    assert await asyncio.wait_for(poll, 1) == (200, {"ok": True, "result": []})


async def test_long_poll_wakes_on_update_and_offsets_confirm(
    sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    alice = sandbox.user(7, "Alice")
    poll = asyncio.create_task(call(http, sandbox, "getUpdates", timeout=10))
    await sandbox.wait_until(lambda: sandbox.polls_waiting == 1, 5)
    first = alice.send_text("/start@companion_sandbox_bot now")
    _, body = await asyncio.wait_for(poll, 2)
    [update] = body["result"]
    assert update["update_id"] == first
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 28}]
    second = alice.send_text("again")
    # Not confirmed yet: the first update is delivered again along with the second.
    _, body = await call(http, sandbox, "getUpdates")
    assert [u["update_id"] for u in body["result"]] == [first, second]
    _, body = await call(http, sandbox, "getUpdates", offset=second + 1)
    assert body["result"] == [] and sandbox.pending_update_count == 0
    for text in ("a", "b", "c"):
        alice.send_text(text)
    _, body = await call(http, sandbox, "getUpdates", offset=-1)
    assert [u["message"]["text"] for u in body["result"]] == ["c"]


async def test_allowed_updates_filter(sandbox: BotApiSandbox, http: aiohttp.ClientSession) -> None:
    alice = sandbox.user(7, "Alice")
    await call(http, sandbox, "getUpdates", allowed_updates=["callback_query"])
    alice.send_text("hidden")
    assert sandbox.pending_update_count == 0
    assert sandbox.filtered_updates[-1]["message"]["text"] == "hidden"
    await call(http, sandbox, "getUpdates", allowed_updates=[])
    alice.send_text("visible")
    assert sandbox.pending_update_count == 1


async def test_second_poller_terminates_the_first(
    sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    first = asyncio.create_task(call(http, sandbox, "getUpdates", timeout=10))
    await sandbox.wait_until(lambda: sandbox.polls_waiting == 1, 5)
    second = asyncio.create_task(call(http, sandbox, "getUpdates", timeout=0))
    status, body = await asyncio.wait_for(first, 2)
    assert status == 409 and "terminated by other getUpdates request" in body["description"]
    assert (await second)[0] == 200


async def test_redeliver_sends_the_same_update_again(
    sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    alice = sandbox.user(7, "Alice")
    update_id = alice.send_text("once")
    _, body = await call(http, sandbox, "getUpdates", offset=0)
    await call(http, sandbox, "getUpdates", offset=update_id + 1)
    sandbox.redeliver(update_id)
    _, again = await call(http, sandbox, "getUpdates", offset=update_id + 1)
    assert again["result"] == body["result"]
    await call(http, sandbox, "getUpdates", offset=update_id + 1)
    assert sandbox.pending_update_count == 0


async def test_inject_update_validates(spec: BotApiSpec, sandbox: BotApiSandbox) -> None:
    with pytest.raises(ValueError, match="missing required field 'chat'"):
        sandbox.inject_update({"message": {"message_id": 1, "date": 0}})
    with pytest.raises(ValueError, match="exactly one payload"):
        sandbox.inject_update({})
    update_id = sandbox.inject_update(
        {"edited_message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    )
    assert sandbox.update(update_id)["update_id"] == update_id


async def test_faults(sandbox: BotApiSandbox, http: aiohttp.ClientSession) -> None:
    sandbox.faults.fail_next("getme", retry_after=3)
    status, body = await call(http, sandbox, "getMe")
    assert (status, body["parameters"]) == (429, {"retry_after": 3})
    assert body["description"] == "Too Many Requests: retry after 3"
    assert (await call(http, sandbox, "getMe"))[0] == 200
    sandbox.faults.down = True
    assert (await call(http, sandbox, "getMe"))[0] == 502
    sandbox.faults.clear()
    sandbox.faults.fail_next(status=500, count=2)
    assert [(await call(http, sandbox, "getMe"))[0] for _ in range(3)] == [500, 500, 200]


class _Receiver:
    """A webhook endpoint that records deliveries and can fail the first few."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, Any], str | None]] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((body, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if len(self.requests) <= self.fail_first:
            return web.Response(status=500)
        self.arrived.set()
        return web.Response(text="ok")


@pytest.fixture
async def receiver_url() -> AsyncIterator[tuple[_Receiver, str]]:
    receiver = _Receiver(fail_first=2)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield receiver, f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_webhook_delivery_with_secret_and_retries(
    sandbox: BotApiSandbox,
    http: aiohttp.ClientSession,
    receiver_url: tuple[_Receiver, str],
) -> None:
    receiver, url = receiver_url
    sandbox.webhook_retry_delay = 0.01
    alice = sandbox.user(7, "Alice")
    old = alice.send_text("before the webhook")
    ok = await call(
        http, sandbox, "setWebhook", url=url, secret_token="s3cr3t", drop_pending_updates=True
    )
    assert ok == (200, {"ok": True, "result": True})
    update_id = alice.send_text("hello hook")
    await asyncio.wait_for(receiver.arrived.wait(), 5)
    assert len(receiver.requests) == 3  # two failures, then success
    assert all(secret == "s3cr3t" for _, secret in receiver.requests)
    assert {body["update_id"] for body, _ in receiver.requests} == {update_id}
    assert old not in {body["update_id"] for body, _ in receiver.requests}
    await sandbox.wait_until_idle(quiet=0.01)
    _, info = await call(http, sandbox, "getWebhookInfo")
    assert info["result"]["url"] == url and info["result"]["pending_update_count"] == 0
    assert "500" in info["result"]["last_error_message"]
    status, body = await call(http, sandbox, "getUpdates")
    assert status == 409 and body["description"].startswith("Conflict: can't use getUpdates")
    await call(http, sandbox, "deleteWebhook")
    assert (await call(http, sandbox, "getUpdates"))[0] == 200


async def test_results_match_the_spec(
    spec: BotApiSpec, sandbox: BotApiSandbox, http: aiohttp.ClientSession
) -> None:
    """Self-check: every implemented method answers with the shape the spec documents."""
    alice = sandbox.user(7, "Alice", username="alice")
    alice.send_document(b"%PDF-1.4", "plan.pdf", "application/pdf")
    _, updates = await call(http, sandbox, "getUpdates")
    file_id = updates["result"][0]["message"]["document"]["file_id"]
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("getMe", {}),
        ("sendMessage", {"chat_id": 7, "text": "<i>hi</i>", "parse_mode": "HTML"}),
        ("sendMessage", {"chat_id": "@alice", "text": "hi", "reply_markup": keyboard}),
        ("editMessageText", {"chat_id": 7, "message_id": 3, "text": "edited"}),
        ("editMessageReplyMarkup", {"chat_id": 7, "message_id": 3, "reply_markup": keyboard}),
        ("sendPhoto", {"chat_id": 7, "photo": file_id, "caption": "*c*", "parse_mode": "Markdown"}),
        (
            "sendDocument",
            {"chat_id": 7, "document": file_id, "reply_parameters": {"message_id": 1}},
        ),
        ("getFile", {"file_id": file_id}),
        ("getChat", {"chat_id": 7}),
        ("setMyCommands", {"commands": [{"command": "start", "description": "Begin"}]}),
        ("getMyCommands", {}),
        ("deleteMyCommands", {}),
        ("setChatMenuButton", {"chat_id": 7, "menu_button": {"type": "commands"}}),
        ("getChatMenuButton", {"chat_id": 7}),
        ("sendChatAction", {"chat_id": 7, "action": "typing"}),
        ("getWebhookInfo", {}),
        ("deleteMessage", {"chat_id": 7, "message_id": 2}),
        ("logOut", {}),
        ("close", {}),
    ]
    for method, params in calls:
        status, body = await call(http, sandbox, method, **params)
        assert status == 200, (method, body)
        returns = spec.methods[method].returns
        result = body["result"]
        assert any(not spec.validate_object(t, result, method) for t in returns), (
            method,
            [spec.validate_object(t, result, method) for t in returns],
        )
    assert sandbox.violations == []
    first, second = sandbox.messages_to(7)[:2]
    assert first.deleted and not second.deleted
    assert second.text == "edited" and second.callback_data == ["a"] and len(second.edits) == 2
    assert sandbox.commands == {}
    download = f"{sandbox.url}/file/bot{TOKEN}/{sandbox._files[file_id].file_path}"
    async with http.get(download) as resp:
        assert await resp.read() == b"%PDF-1.4"


async def test_json_values_round_trip(sandbox: BotApiSandbox, http: aiohttp.ClientSession) -> None:
    sandbox.user(7, "Alice")
    markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
    form = {"chat_id": "7", "text": "x", "reply_markup": markup, "protect_content": "true"}
    async with http.post(f"{sandbox.url}/bot{TOKEN}/sendMessage", data=form) as resp:
        assert resp.status == 200
    [sent] = sandbox.messages_to(7)
    assert sent.protect_content and sent.callback_data == ["a"] and sent.button_texts == ["A"]


async def test_version_tracks_changes(sandbox: BotApiSandbox) -> None:
    alice = sandbox.user(7, "Alice")
    before = sandbox.version
    waiter = asyncio.create_task(sandbox.wait_for_change(before, timeout=5))
    await asyncio.sleep(0)
    alice.send_text("ping")
    assert await asyncio.wait_for(waiter, 1) > before
    with pytest.raises(TimeoutError, match=r"waited 0\.01s for nothing"):
        await sandbox.wait_until(lambda: False, 0.01, "nothing")
