"""Records and switches exposed by the sandbox: API calls, sent messages, files, faults."""

from __future__ import annotations

import random
import time
from collections import Counter, deque
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
    # Close the connection without an answer, before the method runs (a reset).
    drop: bool = False

    @property
    def kind(self) -> str:
        """How this fault shows itself, for the injected-fault counts."""
        if self.drop:
            return "drop"
        if self.status is None:
            return "slow"
        return str(self.status)

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
    ``random_failures(rate)`` fails that share of send calls with a mix of 429, 500, slow
    answers and dropped connections, from a seeded generator so a run can be repeated.
    """

    def __init__(self) -> None:
        self.down = False
        self.latency = 0.0
        self.rules: list[FaultRule] = []
        self.failure_rate = 0.0
        self.injected: Counter[str] = Counter()
        self._random = random.Random(0)  # noqa: S311 - repeatable faults, not security

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
        """Serve the next ``count`` calls of ``method`` normally, but answer ``seconds`` late."""
        self.rules.append(FaultRule(method.lower(), None, "", None, count, delay=seconds))

    def drop_next(self, method: str = "*", *, count: int = 1) -> None:
        """Reset the connection of the next ``count`` calls of ``method`` before they run."""
        self.rules.append(FaultRule(method.lower(), None, "", None, count, drop=True))

    def random_failures(self, rate: float, *, seed: int = 0) -> None:
        """Fail about ``rate`` (0..1) of the send calls, each with a randomly chosen fault."""
        self.failure_rate = rate
        self._random = random.Random(seed)  # noqa: S311 - repeatable faults, not security

    def clear(self) -> None:
        """Remove all switches."""
        self.down = False
        self.latency = 0.0
        self.failure_rate = 0.0
        self.rules.clear()

    def take(self, method: str) -> FaultRule | None:
        """Consume and return the first rule matching ``method`` (or a random fault)."""
        lowered = method.lower()
        for rule in self.rules:
            if rule.method in ("*", lowered):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.rules.remove(rule)
                self.injected[rule.kind] += 1
                return rule
        if (
            self.failure_rate
            and lowered.startswith("send")
            and self._random.random() < self.failure_rate
        ):
            rule = self._random_rule(lowered)
            self.injected[rule.kind] += 1
            return rule
        return None

    def _random_rule(self, method: str) -> FaultRule:
        kind = self._random.choice(("429", "500", "slow", "drop"))
        if kind == "429":
            return FaultRule(method, 429, _default_description(429, 1), 1, 1)
        if kind == "500":
            return FaultRule(method, 500, "Internal Server Error", None, 1)
        if kind == "slow":
            # Slow but answered well within a client's timeout: served once, as Telegram would.
            return FaultRule(method, None, "", None, 1, delay=0.5)
        return FaultRule(method, None, "", None, 1, drop=True)


class RateLimits:
    """Telegram's sending limits, enforced when switched on: at most ``per_second`` sends in
    any one-second window overall, and one per ``chat_interval`` seconds in a chat.

    A send over either limit is answered 429 with retry_after, as Telegram does, and counted
    in ``hits``; ``peak_per_second`` is the most sends seen in any one-second window.
    """

    # Clock jitter between a sender spacing its calls and this server receiving them.
    TOLERANCE = 0.05

    def __init__(self, per_second: int = 30, chat_interval: float = 1.0) -> None:
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.hits = 0
        self.hits_by_limit: Counter[str] = Counter()  # "overall" or "chat"
        self.peak_per_second = 0
        self._recent: deque[float] = deque()
        self._last_in_chat: dict[int, float] = {}

    def admit(self, chat_id: int, now: float) -> ApiError | None:
        """Record a send at ``now``, or return the 429 it must get."""
        window_start = now - 1.0 + self.TOLERANCE
        while self._recent and self._recent[0] <= window_start:
            self._recent.popleft()
        last = self._last_in_chat.get(chat_id)
        too_soon = last is not None and now - last < self.chat_interval - self.TOLERANCE
        if too_soon or len(self._recent) >= self.per_second:
            self.hits += 1
            self.hits_by_limit["chat" if too_soon else "overall"] += 1
            return ApiError(429, _default_description(429, 1), {"retry_after": 1})
        self._recent.append(now)
        self._last_in_chat[chat_id] = now
        self.peak_per_second = max(self.peak_per_second, len(self._recent))
        return None
