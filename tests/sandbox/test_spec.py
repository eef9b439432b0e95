"""BotApiSpec: validation of method calls and decoding of form values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import BotApiSpec, UploadedFile, decode_form_value, find_spec_path
from bot.sandbox.spec import SPEC_ENV_VAR


def _inline(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


def test_valid_send_message(spec: BotApiSpec) -> None:
    params = {
        "chat_id": 42,
        "text": "<b>Hello</b>",
        "parse_mode": "HTML",
        "protect_content": True,
        "reply_markup": _inline({"text": "Yes", "callback_data": "yes"}),
        "reply_parameters": {"message_id": 3},
        "link_preview_options": {"is_disabled": True},
    }
    assert spec.validate("sendMessage", params) == []
    assert spec.validate("SENDMESSAGE", {"chat_id": "@channel", "text": "x"}) == []


def test_unknown_method_missing_and_unknown_params(spec: BotApiSpec) -> None:
    assert spec.validate("sendMesage", {}) == ["unknown method 'sendMesage'"]
    errors = spec.validate("sendMessage", {"chat_id": 1, "colour": "red"})
    assert "sendMessage: missing required parameter 'text'" in errors
    assert "sendMessage: unknown parameter 'colour'" in errors


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"chat_id": True, "text": "x"}, "sendMessage.chat_id: expected Integer or String"),
        ({"chat_id": 1, "text": 5}, "sendMessage.text: expected String, got Integer 5"),
        ({"chat_id": 1.5, "text": "x"}, "expected Integer or String, got Float"),
        ({"chat_id": 1, "text": "x", "protect_content": "yes"}, "expected Boolean"),
        ({"chat_id": 1, "text": "x", "reply_markup": []}, "sendMessage.reply_markup: expected"),
    ],
)
def test_wrong_types(spec: BotApiSpec, params: dict[str, Any], fragment: str) -> None:
    errors = spec.validate("sendMessage", params)
    assert any(fragment in e for e in errors), errors


def test_integer_rejects_bool_float_accepts_int(spec: BotApiSpec) -> None:
    assert spec.validate("getUpdates", {"offset": True})
    assert spec.validate("sendLocation", {"chat_id": 1, "latitude": 52, "longitude": 4.5}) == []


def test_text_length_counts_visible_characters(spec: BotApiSpec) -> None:
    assert spec.validate("sendMessage", {"chat_id": 1, "text": "a" * 4096}) == []
    errors = spec.validate("sendMessage", {"chat_id": 1, "text": "a" * 4097})
    assert errors == [
        "sendMessage.text: must be 1-4096 characters after entities parsing, got 4097"
    ]
    # Markup does not count: 4096 visible characters wrapped in tags are fine.
    html = {"chat_id": 1, "text": "<b>" + "a" * 4096 + "</b>", "parse_mode": "HTML"}
    assert spec.validate("sendMessage", html) == []
    assert spec.validate("sendMessage", {"chat_id": 1, "text": "   "})
    assert spec.validate("editMessageText", {"chat_id": 1, "message_id": 2, "text": "b" * 4097})


def test_caption_and_callback_answer_limits(spec: BotApiSpec) -> None:
    photo = {"chat_id": 1, "photo": "AgADBAAD", "caption": "c" * 1025}
    assert any("0-1024 characters" in e for e in spec.validate("sendPhoto", photo))
    answer = {"callback_query_id": "1", "text": "t" * 201}
    assert any("0-200 characters" in e for e in spec.validate("answerCallbackQuery", answer))
    assert spec.validate("answerCallbackQuery", {"callback_query_id": "1", "text": "t" * 200}) == []


def test_callback_data_is_measured_in_utf8_bytes(spec: BotApiSpec) -> None:
    ok = _inline({"text": "ok", "callback_data": "é" * 32})  # 64 bytes
    assert spec.validate("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": ok}) == []
    bad = _inline({"text": "ok", "callback_data": "é" * 32 + "x"})  # 65 bytes
    errors = spec.validate("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": bad})
    assert errors == [
        "sendMessage.reply_markup.inline_keyboard[0][0].callback_data: must be 1-64 bytes, got 65"
    ]


def test_keyboard_buttons(spec: BotApiSpec) -> None:
    no_action = _inline({"text": "label only"})
    errors = spec.validate("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": no_action})
    assert any("exactly one action field" in e for e in errors)
    empty_text = _inline({"text": "", "callback_data": "a"})
    errors = spec.validate("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": empty_text})
    assert any(".text: must be at least 1 characters" in e for e in errors)
    # Reply keyboards may use plain strings; the other reply_markup alternatives are accepted.
    for markup in (
        {"keyboard": [["One", {"text": "Two"}]], "resize_keyboard": True},
        {"remove_keyboard": True},
        {"force_reply": True, "input_field_placeholder": "Type here"},
    ):
        assert (
            spec.validate("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": markup}) == []
        )
    not_nested = {"inline_keyboard": [{"text": "a", "callback_data": "a"}]}
    errors = spec.validate("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": not_nested})
    assert any("inline_keyboard[0]: expected Array of InlineKeyboardButton" in e for e in errors)


def test_parse_mode_and_markup_errors(spec: BotApiSpec) -> None:
    errors = spec.validate("sendMessage", {"chat_id": 1, "text": "x", "parse_mode": "html"})
    assert any("unsupported parse mode 'html'" in e for e in errors)
    errors = spec.validate("sendMessage", {"chat_id": 1, "text": "<b>x", "parse_mode": "HTML"})
    assert any("can't parse entities" in e for e in errors)
    errors = spec.validate("sendMessage", {"chat_id": 1, "text": "Hi.", "parse_mode": "MarkdownV2"})
    assert any("reserved" in e for e in errors)


def test_bot_commands(spec: BotApiSpec) -> None:
    good = {"commands": [{"command": "start", "description": "Start"}], "language_code": "de"}
    assert spec.validate("setMyCommands", good) == []
    for command in ("Start", "start-now", "x" * 33, ""):
        params = {"commands": [{"command": command, "description": "d"}]}
        assert spec.validate("setMyCommands", params), command
    for description in ("", "d" * 257):
        params = {"commands": [{"command": "help", "description": description}]}
        assert spec.validate("setMyCommands", params), description
    assert spec.validate("setMyCommands", {"commands": [], "language_code": "deu"})


def test_union_types_pick_matching_subtype(spec: BotApiSpec) -> None:
    scope_ok = {"commands": [], "scope": {"type": "chat", "chat_id": 5}}
    assert spec.validate("setMyCommands", scope_ok) == []
    missing = spec.validate("setMyCommands", {"commands": [], "scope": {"type": "chat"}})
    assert missing == [
        "setMyCommands.scope: missing required field 'chat_id' of BotCommandScopeChat"
    ]
    assert spec.validate("setMyCommands", {"commands": [], "scope": {"type": "galaxy"}})
    menu = {"menu_button": {"type": "web_app", "text": "Open", "web_app": {"url": "https://x"}}}
    assert spec.validate("setChatMenuButton", menu) == []


def test_input_files(spec: BotApiSpec) -> None:
    upload = UploadedFile("a.jpg", "image/jpeg", b"\xff\xd8")
    assert spec.validate("sendPhoto", {"chat_id": 1, "photo": upload}) == []
    assert spec.validate("sendPhoto", {"chat_id": 1, "photo": "AgACAgIAAxkBAAIB"}) == []
    assert spec.validate("setWebhook", {"url": "https://x", "certificate": upload}) == []
    assert spec.validate("setWebhook", {"url": "https://x", "certificate": "PEM..."})
    assert (
        spec.validate(
            "setWebhook", {"url": "https://x", "certificate": "attach://cert"}, files={"cert"}
        )
        == []
    )
    errors = spec.validate("setWebhook", {"url": "https://x", "certificate": "attach://cert"})
    assert any("not uploaded" in e for e in errors)


def test_conditional_requirements_of_edits(spec: BotApiSpec) -> None:
    assert spec.validate("editMessageText", {"chat_id": 1, "message_id": 2, "text": "x"}) == []
    assert spec.validate("editMessageText", {"inline_message_id": "abc", "text": "x"}) == []
    errors = spec.validate("editMessageText", {"chat_id": 1, "text": "x"})
    assert any("either chat_id and message_id or inline_message_id" in e for e in errors)
    errors = spec.validate("editMessageText", {"chat_id": 1, "message_id": 2})
    assert any("'text' is required" in e for e in errors)


def test_numeric_ranges_and_enums(spec: BotApiSpec) -> None:
    assert spec.validate("getUpdates", {"limit": 100}) == []
    assert spec.validate("getUpdates", {"limit": 101}) == [
        "getUpdates.limit: must be between 1 and 100, got 101"
    ]
    assert spec.validate("sendChatAction", {"chat_id": 1, "action": "typing"}) == []
    assert spec.validate("sendChatAction", {"chat_id": 1, "action": "thinking"})
    assert spec.validate("setWebhook", {"url": "https://x", "secret_token": "bad token!"})


def test_validate_object_for_updates(spec: BotApiSpec) -> None:
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": 5, "type": "private", "first_name": "A"},
            "from": {"id": 5, "is_bot": False, "first_name": "A"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    assert spec.validate_object("Update", update) == []
    del update["message"]["chat"]  # type: ignore[attr-defined]
    assert spec.validate_object("Update", update) == [
        "Update.message: missing required field 'chat' of Message"
    ]


@pytest.mark.parametrize(
    ("raw", "types", "expected"),
    [
        ("123", ("Integer", "String"), 123),
        ("-100123", ("Integer", "String"), -100123),
        ("@channel", ("Integer", "String"), "@channel"),
        ("123", ("String",), "123"),
        ("true", ("String",), "true"),
        ("true", ("Boolean",), True),
        ("2.5", ("Float",), 2.5),
        (
            '{"inline_keyboard": []}',
            ("InlineKeyboardMarkup", "ForceReply"),
            {"inline_keyboard": []},
        ),
        ('["message"]', ("Array of String",), ["message"]),
        ("AgAD", ("InputFile", "String"), "AgAD"),
        ("not json", ("InlineKeyboardMarkup",), "not json"),
        ('"quoted"', ("Integer", "String"), '"quoted"'),
        ("7", None, 7),
    ],
)
def test_decode_form_value(raw: str, types: tuple[str, ...] | None, expected: Any) -> None:
    assert decode_form_value(raw, types) == expected


def test_decode_params_uses_declared_types(spec: BotApiSpec) -> None:
    upload = UploadedFile("a.pdf", "application/pdf", b"%PDF")
    raw: dict[str, str | UploadedFile] = {
        "chat_id": "42",
        "text": "42",
        "disable_notification": "true",
        "reply_markup": json.dumps(_inline({"text": "a", "callback_data": "b"})),
        "document": upload,
    }
    params = spec.decode_params("sendMessage", raw)
    assert params["chat_id"] == 42
    assert params["text"] == "42"
    assert params["disable_notification"] is True
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"
    assert params["document"] is upload


def test_find_spec_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    custom = tmp_path / "api.json"
    custom.write_text('{"methods": {}, "types": {}}')
    monkeypatch.setenv(SPEC_ENV_VAR, str(custom))
    assert find_spec_path() == custom
    assert BotApiSpec.load(custom).methods == {}
    monkeypatch.setenv(SPEC_ENV_VAR, str(tmp_path / "missing.json"))
    default = find_spec_path()
    repo_root = Path(__file__).resolve().parents[2]
    assert default in (None, repo_root.parent / "shared" / "telegram" / "api.json")
