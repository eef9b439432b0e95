"""Records and switches exposed by the sandbox: API calls, sent messages, files, faults."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """An error answer in Telegram's envelope (raised inside method handlers)."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram would answer with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class ApiCall:
    """One request the bot made, with decoded params and the answer it got."""

    method: str
    params: dict[str, Any]
    status: int = 200
    response: dict[str, Any] | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.status == HTTPStatus.OK

    @property
    def description(self) -> str | None:
        """Telegram's error description, if the call failed."""
        if self.response is None or self.response.get("ok"):
            return None
        return str(self.response.get("description"))


@dataclass
class SentMessage:
    """A message the bot sent, kept up to date with later edits and deletion.

    ``text`` is the raw text (or caption) as the bot sent it, markup included;
    ``message`` is the Message object as Telegram returned it (plain text + entities).
    """

    chat_id: int
    message_id: int
    method: str
    params: dict[str, Any]
    message: dict[str, Any]
    text: str | None
    reply_markup: dict[str, Any] | None
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def plain_text(self) -> str | None:
        """Text (or caption) after entity parsing, as a user would see it."""
        value = self.message.get("text", self.message.get("caption"))
        return None if value is None else str(value)

    @property
    def parse_mode(self) -> str | None:
        """Parse mode of the latest send/edit."""
        source = self.edits[-1] if self.edits and "text" in self.edits[-1] else self.params
        mode = source.get("parse_mode")
        return mode if isinstance(mode, str) else None

    @property
    def protect_content(self) -> bool:
        """Whether the bot asked Telegram to protect the content."""
        return self.params.get("protect_content") is True

    @property
    def kind(self) -> str:
        """The Message field holding the content: text, photo, document, sticker or other."""
        for key in ("text", "photo", "document", "sticker"):
            if key in self.message:
                return key
        return "other"

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        """All inline keyboard buttons, row by row."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or []
        return [button for row in rows for button in row if isinstance(button, dict)]

    @property
    def callback_data(self) -> list[str]:
        """callback_data of every inline button, in order."""
        return [str(b["callback_data"]) for b in self.inline_buttons if "callback_data" in b]

    @property
    def button_texts(self) -> list[str]:
        """Labels of inline or reply keyboard buttons, in order."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [str(b["text"]) if isinstance(b, dict) else str(b) for row in rows for b in row]


@dataclass
class StoredFile:
    """A file known to the sandbox (uploaded by the bot or by a simulated user)."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None

    def as_file(self) -> dict[str, Any]:
        """The Bot API File object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class FaultRule:
    """An injected failure for the next ``remaining`` calls of ``method`` ("*" = any)."""

    method: str
    status: int | None
    description: str
    retry_after: int | None
    remaining: int
    delay: float = 0.0

    def error(self) -> ApiError | None:
        """The error to answer with (None for a pure delay)."""
        if self.status is None:
            return None
        params = {"retry_after": self.retry_after} if self.retry_after is not None else None
        return ApiError(self.status, self.description, params)


def _default_description(status: int, retry_after: int | None) -> str:
    if status == HTTPStatus.TOO_MANY_REQUESTS:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if status == HTTPStatus.BAD_REQUEST:
        return "Bad Request: injected fault"
    if status == HTTPStatus.FORBIDDEN:
        return "Forbidden: injected fault"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Injected fault"


class Faults:
    """Fault switches for fault-injection tests.

    ``down = True`` makes every request fail with 502 Bad Gateway (what Telegram's front end
    answers during outages); ``latency`` delays every request by that many seconds.
    """

    def __init__(self) -> None:
        self.down = False
        self.latency = 0.0
        self.rules: list[FaultRule] = []

    def fail_next(
        self,
        method: str = "*",
        status: int | None = None,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Fail the next ``count`` calls of ``method`` (case-insensitive, "*" = any method).

        With ``retry_after`` the status defaults to 429 and the answer carries
        ``parameters.retry_after`` (PTB raises RetryAfter); otherwise it defaults to 500.
        """
        if status is None:
            status = HTTPStatus.TOO_MANY_REQUESTS if retry_after is not None else 500
        self.rules.append(
            FaultRule(
                method=method.lower(),
                status=int(status),
                description=description or _default_description(status, retry_after),
                retry_after=retry_after,
                remaining=count,
            )
        )

    def delay_next(self, method: str = "*", seconds: float = 1.0, *, count: int = 1) -> None:
        """Delay (but otherwise serve normally) the next ``count`` calls of ``method``."""
        self.rules.append(FaultRule(method.lower(), None, "", None, count, delay=seconds))

    def clear(self) -> None:
        """Remove all switches."""
        self.down = False
        self.latency = 0.0
        self.rules.clear()

    def take(self, method: str) -> FaultRule | None:
        """Consume and return the first rule matching ``method``."""
        lowered = method.lower()
        for rule in self.rules:
            if rule.method in ("*", lowered):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
                return rule
        return None
