"""The sandbox driven by the real python-telegram-bot stack (polling, bot methods, errors)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from telegram import (
    BotCommand,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import BotApiSandbox, BotApiSpec

from .conftest import polling

App = Application[Any, Any, Any, Any, Any, Any]
Ctx = ContextTypes.DEFAULT_TYPE


def _echo_app(make_app: Callable[[], App], seen: list[Update] | None = None) -> App:
    """A tiny bot: /start greets in HTML, text is echoed with a button, presses edit."""
    app = make_app()

    async def start(update: Update, context: Ctx) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        name = update.effective_user.first_name
        await update.effective_message.reply_html(f"Hello, <b>{name}</b>!")

    async def echo(update: Update, context: Ctx) -> None:
        assert update.message is not None and update.message.text is not None
        if seen is not None:
            seen.append(update)
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])
        await update.message.reply_text(update.message.text, reply_markup=keyboard)

    async def pressed(update: Update, context: Ctx) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer("Noted")
        await query.edit_message_text(f"Pressed at {query.message.date:%Y}")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


async def test_polling_round_trip(sandbox: BotApiSandbox, make_app: Callable[[], App]) -> None:
    alice = sandbox.user(1001, "Alice", "de")
    async with polling(_echo_app(make_app)):
        alice.send_text("/start")
        alice.send_text("echo me")
        greeting, echo = await alice.wait_for_messages(2, timeout=5)
        assert greeting.text == "Hello, <b>Alice</b>!"
        assert greeting.plain_text == "Hello, Alice!"
        assert greeting.parse_mode == "HTML"
        assert echo.text == "echo me" and echo.callback_data == ["again"]

        update_id = alice.press(echo.message_id, "again")
        await sandbox.wait_for_call("editMessageText")
        await sandbox.wait_until_idle(quiet=0.05)
    assert sandbox.callback_answer(update_id) == {
        "callback_query_id": sandbox.update(update_id)["callback_query"]["id"],
        "text": "Noted",
    }
    assert echo.text == f"Pressed at {time.gmtime().tm_year}"
    assert echo.reply_markup is None and echo.message.get("edit_date")
    with pytest.raises(LookupError, match="no button"):
        alice.press(echo.message_id, "again")  # the edit removed the keyboard
    assert sandbox.violations == []
    assert [c.method for c in sandbox.failed_calls] in ([], ["getUpdates"])


async def test_invalid_calls_are_rejected_and_recorded(
    spec: BotApiSpec, sandbox: BotApiSandbox, make_app: Callable[[], App]
) -> None:
    sandbox.user(1001, "Alice")
    app = make_app()
    async with app:
        bot = app.bot
        await bot.send_message(1001, "x" * 4096)
        with pytest.raises(BadRequest, match="must be 1-4096 characters"):
            await bot.send_message(1001, "x" * 4097)
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d" * 65)]])
        with pytest.raises(BadRequest, match="1-64 bytes, got 65"):
            await bot.send_message(1001, "pick", reply_markup=too_long)
        with pytest.raises(BadRequest, match="unknown parameter 'colour'"):
            await bot.send_message(1001, "hi", api_kwargs={"colour": "red"})
        with pytest.raises(BadRequest, match="can't parse entities"):
            await bot.send_message(1001, "<b>unclosed", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match="bot command must be"):
            await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    assert len(sandbox.violations) == 5
    assert "4097" in sandbox.violations[0]
    assert "callback_data" in sandbox.violations[1]
    assert sandbox.violations[2] == "sendMessage: unknown parameter 'colour'"
    assert len(sandbox.messages_to(1001)) == 1


async def test_telegram_errors_surface_as_ptb_exceptions(
    sandbox: BotApiSandbox, make_app: Callable[[], App], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as timedelta, no warning
    alice = sandbox.user(1001, "Alice")
    app = make_app()
    async with app:
        bot = app.bot
        sent = await bot.send_message(1001, "hi")
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("hi", chat_id=1001, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(4242, "hi")
        alice.block_bot()
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(1001, "still there?")
        with pytest.raises(Forbidden):
            await bot.send_chat_action(1001, ChatAction.TYPING)
        alice.unblock_bot()
        await bot.send_message(1001, "welcome back")

        sandbox.faults.fail_next("sendMessage", retry_after=2)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(1001, "flood")
        assert info.value.retry_after == dt.timedelta(seconds=2)
        sandbox.faults.down = True
        with pytest.raises(NetworkError):
            await bot.get_me()
        sandbox.faults.down = False
    assert [m.text for m in alice.messages()] == ["hi", "welcome back"]
    assert sandbox.violations == []


async def test_blocking_is_announced_to_the_bot(
    sandbox: BotApiSandbox, make_app: Callable[[], App]
) -> None:
    changes: list[ChatMemberUpdated] = []
    app = make_app()

    async def member(update: Update, context: Ctx) -> None:
        assert update.my_chat_member is not None
        changes.append(update.my_chat_member)

    app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    alice = sandbox.user(1001, "Alice")
    staff = sandbox.group(-2001, "Staff room", bot_is_member=False)
    async with polling(app):
        alice.block_bot()
        staff.add_bot(by=alice)
        await sandbox.wait_until_idle(quiet=0.05)
    assert [(c.chat.id, c.new_chat_member.status) for c in changes] == [
        (1001, "kicked"),
        (-2001, "member"),
    ]


async def test_groups_commands_privacy_and_leaving(
    sandbox: BotApiSandbox, make_app: Callable[[], App]
) -> None:
    app = _echo_app(make_app)
    alice = sandbox.user(1001, "Alice")
    group = sandbox.group(-2001, "Programme group")
    async with polling(app):
        assert group.send_text(alice, "chatter the bot must not see") == 0
        group.send_text(alice, "/start@companion_sandbox_bot")
        [greeting] = await sandbox.wait_for_messages(-2001, 1, timeout=5)
        assert greeting.plain_text == "Hello, Alice!"
        await app.bot.leave_chat(-2001)
        with pytest.raises(Forbidden, match="not a member of the group chat"):
            await app.bot.send_message(-2001, "hello?")
    assert sandbox.violations == []


async def test_files_both_ways(sandbox: BotApiSandbox, make_app: Callable[[], App]) -> None:
    received: list[bytes] = []
    app = make_app()

    async def on_document(update: Update, context: Ctx) -> None:
        assert update.message is not None and update.message.document is not None
        file = await update.message.document.get_file()
        received.append(bytes(await file.download_as_bytearray()))
        await update.message.reply_photo(b"\x89PNG fake", caption="thanks")

    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    alice = sandbox.user(1001, "Alice")
    async with polling(app):
        alice.send_document(b"%PDF-1.7 certificate", "cert.pdf", "application/pdf")
        [reply] = await alice.wait_for_messages(1, timeout=5)
        sent = await app.bot.send_document(1001, b"report", filename="report.txt")
        assert sent.document is not None and sent.document.file_name == "report.txt"
        file = await app.bot.get_file(sent.document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"report"
    assert received == [b"%PDF-1.7 certificate"]
    assert reply.kind == "photo" and reply.text == "thanks"
    photo_id = reply.message["photo"][-1]["file_id"]
    assert sandbox.file_bytes(photo_id) == b"\x89PNG fake"
    assert sandbox.violations == []


async def test_commands_menu_and_actions(
    sandbox: BotApiSandbox, make_app: Callable[[], App]
) -> None:
    sandbox.user(1001, "Alice")
    app = make_app()
    async with app:
        bot = app.bot
        commands = [BotCommand("start", "Begin"), BotCommand("help", "Get help")]
        assert await bot.set_my_commands(commands, language_code="de")
        assert await bot.get_my_commands(language_code="de") == tuple(commands)
        assert await bot.get_my_commands() == ()
        assert await bot.set_chat_menu_button(chat_id=1001, menu_button=MenuButtonCommands())
        assert await bot.send_chat_action(1001, ChatAction.UPLOAD_DOCUMENT)
    assert sandbox.chat_actions == [(1001, "upload_document")]
    assert sandbox.menu_buttons == {1001: {"type": "commands"}}
    assert sandbox.violations == []


async def test_duplicate_delivery_reaches_the_bot_twice(
    sandbox: BotApiSandbox, make_app: Callable[[], App]
) -> None:
    seen: list[Update] = []
    alice = sandbox.user(1001, "Alice")
    async with polling(_echo_app(make_app, seen)):
        update_id = alice.send_text("pay once")
        await alice.wait_for_messages(1, timeout=5)
        await sandbox.wait_until_idle(quiet=0.02)
        sandbox.redeliver(update_id)
        await alice.wait_for_messages(2, timeout=5)
    assert [u.update_id for u in seen] == [update_id, update_id]


async def test_stop_while_ptb_long_polls_is_fast(
    maybe_spec: BotApiSpec | None, make_app: Callable[[], App]
) -> None:
    box = BotApiSandbox("123456789:AAHsandbox-test-token", spec=maybe_spec)
    await box.start()
    app = (
        Application.builder()
        .token(box.token)
        .base_url(f"{box.url}/bot")
        .base_file_url(f"{box.url}/file/bot")
        .build()
    )
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=30)
    try:
        await box.wait_until(lambda: box.polls_waiting == 1, 5)
        started = time.monotonic()
        await box.stop()
        assert time.monotonic() - started < 0.5
    finally:
        await app.updater.stop()
        await app.shutdown()


async def test_webhook_mode_with_ptb(sandbox: BotApiSandbox, make_app: Callable[[], App]) -> None:
    """Updates POSTed to the bot's webhook carry the secret and decode into PTB Updates."""
    app = _echo_app(make_app)
    secrets: list[str | None] = []

    async def hook(request: web.Request) -> web.Response:
        secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        await app.process_update(Update.de_json(await request.json(), app.bot))
        return web.Response()

    web_app = web.Application()
    web_app.router.add_post("/tg", hook)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    alice = sandbox.user(1001, "Alice")
    try:
        async with app:
            await app.bot.set_webhook(f"http://127.0.0.1:{port}/tg", secret_token="abc_123")
            alice.send_text("via webhook")
            [echo] = await alice.wait_for_messages(1, timeout=5)
            assert echo.text == "via webhook"
            with pytest.raises(Conflict):
                await app.bot.get_updates()
            info = await app.bot.get_webhook_info()
            assert info.url.endswith("/tg") and info.pending_update_count == 0
            await app.bot.delete_webhook()
    finally:
        await runner.cleanup()
    assert secrets == ["abc_123"]
    assert sandbox.violations == []


async def test_wait_for_messages_reports_what_arrived(sandbox: BotApiSandbox) -> None:
    sandbox.user(1001, "Alice")
    with pytest.raises(TimeoutError, match=r"got 0: \[\]"):
        await sandbox.wait_for_messages(1001, 1, timeout=0.05)
    await asyncio.sleep(0)
