"""A local Telegram Bot API server for end-to-end tests and offline demos.

``BotApiSandbox`` speaks the Bot API over HTTP (aiohttp), so the real python-telegram-bot stack
runs against it unchanged::

    sandbox = BotApiSandbox(TOKEN, spec=BotApiSpec.load_default())
    await sandbox.start()
    app = (ApplicationBuilder().token(TOKEN).base_url(f"{sandbox.url}/bot")
           .base_file_url(f"{sandbox.url}/file/bot").build())
    alice = sandbox.user(1001, "Alice")
    alice.send_text("/start")
    [reply] = await sandbox.wait_for_messages(alice.id, 1)

Every call is checked against the official spec; violations are answered with 400 (like
Telegram) and collected in ``sandbox.violations`` so tests can assert the bot never made one.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.sandbox.actors import SandboxGroup, SandboxUser
from bot.sandbox.formatting import EntityParseError, ParsedText, parse_formatted
from bot.sandbox.models import ApiCall, ApiError, Faults, RateLimits, SentMessage, StoredFile
from bot.sandbox.spec import BotApiSpec, UploadedFile, decode_form_value

log = logging.getLogger(__name__)

# Update types Telegram leaves out unless explicitly requested via allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_MAX_UPLOAD = 60 * 1024 * 1024
_MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses bigger files, as Telegram does
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# Without a spec, these parameters are strings and must not be JSON-decoded.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "callback_query_id",
        "file_id",
        "url",
        "secret_token",
        "language_code",
        "action",
        "parse_mode",
        "inline_message_id",
        "ip_address",
        "business_connection_id",
    }
)
_FILE_PARAMS = frozenset(
    {"photo", "document", "thumbnail", "certificate", "audio", "video", "animation", "voice"}
)

Handler = Callable[["_Params"], Awaitable[Any]]


class _Dropped(Exception):
    """Raised to reset a request's connection instead of answering it."""


class _Signal:
    """A broadcast wake-up usable from sync code: ``notify()`` wakes every current waiter."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> None:  # noqa: ASYNC109
        """Wait for the next notify (or the timeout)."""
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None) -> bool:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            event = self._event  # taken before the check so no notify can slip through
            if predicate():
                return True
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


@dataclass
class ChatState:
    """A chat the sandbox knows about, with all its messages."""

    chat: dict[str, Any]
    blocked: bool = False  # private chats: the user blocked the bot
    bot_status: str = "member"  # groups: member | administrator | left | kicked
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)

    @property
    def id(self) -> int:
        """Chat id."""
        return int(self.chat["id"])

    @property
    def type(self) -> str:
        """private, group, supergroup or channel."""
        return str(self.chat["type"])


@dataclass
class WebhookConfig:
    """What setWebhook configured."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    has_custom_certificate: bool = False


@dataclass
class _Queued:
    update: dict[str, Any]
    forced: bool = False  # redelivered: deliver even though its id is below the offset
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass
class _CallbackQuery:
    user_id: int
    chat_id: int
    message_id: int
    answered: bool = False


class _Params:
    """Decoded request parameters with typed accessors (used by method handlers)."""

    def __init__(self, method: str, values: dict[str, Any], files: dict[str, UploadedFile]):
        self.method = method
        self.values = values
        self.files = files

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else value if isinstance(value, str) else json.dumps(value)

    def require_string(self, name: str) -> str:
        value = self.string(name)
        if value is None:
            raise ApiError(400, f"Bad Request: parameter {name} is required")
        return value

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: {name} must be an integer") from None

    def require_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise ApiError(400, f"Bad Request: parameter {name} is required")
        return value

    def flag(self, name: str) -> bool:
        return self.values.get(name) in (True, "true", "True", "1", 1)

    def obj(self, name: str) -> dict[str, Any] | None:
        value = self.values.get(name)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        return value if isinstance(value, dict) else None

    def array(self, name: str) -> list[Any] | None:
        value = self.values.get(name)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        return value if isinstance(value, list) else None


def _bot_id_from_token(token: str) -> int:
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 7_000_000_001


class BotApiSandbox:
    """A local, spec-checking imitation of the Telegram Bot API server."""

    def __init__(
        self,
        token: str,
        *,
        spec: BotApiSpec | None = None,
        bot_username: str = "companion_sandbox_bot",
        bot_first_name: str = "Companion",
        privacy_mode: bool = True,
        clock: Callable[[], float] = time.time,
        rate_limits: bool | RateLimits = False,
    ) -> None:
        self.token = token
        self.spec = spec
        self.bot_id = _bot_id_from_token(token)
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        # Privacy mode: in groups the bot only gets commands, replies to it and mentions.
        self.privacy_mode = privacy_mode
        self.clock = clock

        self.violations: list[str] = []
        self.calls: list[ApiCall] = []
        self.faults = Faults()
        # Telegram's sending limits, enforced only when asked (fault and pacing tests).
        self.rate_limits: RateLimits | None = (
            rate_limits
            if isinstance(rate_limits, RateLimits)
            else RateLimits()
            if rate_limits
            else None
        )
        self.chat_actions: list[tuple[int, str]] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.filtered_updates: list[dict[str, Any]] = []  # not delivered (allowed_updates etc.)
        self.webhook_failures: list[dict[str, Any]] = []  # gave up after retries
        self.webhook_attempts = 4
        self.webhook_retry_delay = 0.05

        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, SandboxUser] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._queue: list[_Queued] = []
        self._history: dict[int, dict[str, Any]] = {}
        self._next_update_id = 1
        self._next_file = 1
        self._next_query = 1
        self._allowed_updates: list[str] | None = None
        self._webhook: WebhookConfig | None = None
        self._webhook_error: tuple[int, str] | None = None
        self._queries: dict[str, _CallbackQuery] = {}
        self._query_by_update: dict[int, str] = {}
        self._poll_generation = 0
        self._polls_waiting = 0
        self._busy = 0  # requests in flight other than long polls
        self._webhook_busy = 0
        self._last_activity = time.monotonic()
        self._version = 0
        self._signal = _Signal()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._url: str | None = None
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "leaveChat": self._leave_chat,
            "getChat": self._get_chat,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
        }
        self._handlers_by_lower = {name.lower(): name for name in self._handlers}

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving (port 0 picks a free port; see ``url``)."""
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        self._closing = False
        app = web.Application(client_max_size=_MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # handler_cancellation: a bot that hangs up mid long-poll must not leave a handler
        # waiting out its timeout. The short shutdown_timeout is a backstop: stop() wakes polls.
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0
        )
        await runner.setup()
        # Binding our own socket tells us the port chosen for port=0 without private APIs.
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner
        bound_port = sock.getsockname()[1]
        shown_host = f"[{host}]" if ":" in host else host
        self._url = f"http://{shown_host}:{bound_port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._webhook_task = asyncio.create_task(self._webhook_worker())

    async def stop(self) -> None:
        """Stop serving; pending long polls are answered at once with no updates."""
        self._closing = True
        self._signal.notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def rate_limit_hits(self) -> int:
        """How many sends were refused for going over Telegram's limits (when enforced)."""
        return self.rate_limits.hits if self.rate_limits is not None else 0

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43127`` (bot API under /bot, files under /file/bot)."""
        if self._url is None:
            raise RuntimeError("sandbox not started")
        return self._url

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as a User object (as it appears in messages)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # --- simulated users and chats ---------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        language_code: str | None = "en",
        *,
        username: str | None = None,
        last_name: str | None = None,
    ) -> SandboxUser:
        """A user who has started the bot; their private chat id equals ``user_id``."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        user = SandboxUser(self, user_id, first_name, language_code, username, last_name)
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            chat["last_name"] = last_name
        if username:
            chat["username"] = username
        self._chats[user_id] = ChatState(chat)
        self._users[user_id] = user
        return user

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool = False,
        bot_is_member: bool = True,
        bot_is_admin: bool = False,
        username: str | None = None,
    ) -> SandboxGroup:
        """A group (negative id) or supergroup (-100...) chat."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_id not in self._chats:
            chat: dict[str, Any] = {
                "id": chat_id,
                "type": "supergroup" if supergroup else "group",
                "title": title,
            }
            if username:
                chat["username"] = username
            status = ("administrator" if bot_is_admin else "member") if bot_is_member else "left"
            self._chats[chat_id] = ChatState(chat, bot_status=status)
        return SandboxGroup(self, chat_id)

    def chat(self, chat_id: int) -> ChatState:
        """State of a known chat (KeyError if unknown)."""
        return self._chats[chat_id]

    # --- updates ---------------------------------------------------------------------------

    def inject_update(self, raw: dict[str, Any]) -> int:
        """Deliver any raw update (``update_id`` assigned if missing); returns the update id.

        Raises ValueError if the update does not match the spec's Update type.
        """
        update = copy.deepcopy(raw)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        update_id = int(update["update_id"])
        kinds = [key for key in update if key != "update_id"]
        if len(kinds) != 1:
            raise ValueError(f"an update carries exactly one payload field, got {kinds}")
        if self.spec is not None:
            errors = self.spec.validate_object("Update", update)
            if errors:
                raise ValueError("invalid update: " + "; ".join(errors))
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._history[update_id] = copy.deepcopy(update)
        if not self._update_allowed(kinds[0]):
            self.filtered_updates.append(update)
        else:
            self._queue.append(_Queued(update))
        self._touch()
        return update_id

    def redeliver(self, update_id: int) -> int:
        """Deliver an earlier update again, unchanged (duplicate delivery)."""
        if update_id not in self._history:
            raise KeyError(f"no update {update_id}")
        self._queue.append(_Queued(copy.deepcopy(self._history[update_id]), forced=True))
        self._touch()
        return update_id

    def update(self, update_id: int) -> dict[str, Any]:
        """A copy of an update delivered earlier."""
        return copy.deepcopy(self._history[update_id])

    @property
    def pending_update_count(self) -> int:
        """Updates not yet confirmed by the bot (or not yet accepted by its webhook)."""
        return len(self._queue)

    @property
    def polls_waiting(self) -> int:
        """getUpdates requests currently held open (long polling)."""
        return self._polls_waiting

    @property
    def webhook(self) -> WebhookConfig | None:
        """Current webhook, if one is set."""
        return self._webhook

    def callback_answer(self, update_id: int) -> dict[str, Any] | None:
        """answerCallbackQuery params for the callback query of this update, if answered."""
        query_id = self._query_by_update.get(update_id)
        return None if query_id is None else self.callback_answers.get(query_id)

    # --- observation -----------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to a chat, in order (edits applied, deleted ones flagged)."""
        chat = self._chats.get(chat_id)
        return list(chat.sent) if chat else []

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (case-insensitive)."""
        lowered = method.lower()
        return [call for call in self.calls if call.method.lower() == lowered]

    @property
    def failed_calls(self) -> list[ApiCall]:
        """Calls that got an error answer."""
        return [call for call in self.calls if not call.ok]

    def file_bytes(self, file_id: str) -> bytes:
        """Content of a stored file."""
        return self._files[file_id].data

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - a plain number is friendlier in tests
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least ``count`` messages to the chat; return them all."""
        ok = await self._signal.wait_for(lambda: len(self.messages_to(chat_id)) >= count, timeout)
        messages = self.messages_to(chat_id)
        if not ok:
            got = [m.text for m in messages]
            raise TimeoutError(
                f"waited {timeout}s for {count} bot message(s) to chat {chat_id}, got "
                f"{len(got)}: {got!r}{self._diagnostics()}"
            )
        return messages

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 10.0) -> ApiCall:  # noqa: ASYNC109
        """Wait until ``method`` has been called ``count`` times; return the latest call."""
        ok = await self._signal.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
        if not ok:
            raise TimeoutError(
                f"waited {timeout}s for {count} call(s) of {method}, got "
                f"{len(self.calls_to(method))}{self._diagnostics()}"
            )
        return self.calls_to(method)[count - 1]

    async def wait_until_idle(self, quiet: float = 0.1, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until all updates are confirmed and no request has been seen for ``quiet`` s.

        Long polls held open do not count as activity. This is a heuristic: a handler that
        computes silently for longer than ``quiet`` before calling the API looks idle.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            busy = self._queue or self._busy or self._webhook_busy
            if not busy:
                idle_for = time.monotonic() - self._last_activity
                if idle_for >= quiet:
                    return
                await self._signal.wait(min(quiet - idle_for, max(remaining, 0)))
            else:
                await self._signal.wait(max(remaining, 0))
            if loop.time() >= deadline:
                raise TimeoutError(
                    f"sandbox not idle after {timeout}s: {len(self._queue)} pending update(s), "
                    f"{self._busy} request(s) in flight{self._diagnostics()}"
                )

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking on every sandbox state change."""
        if not await self._signal.wait_for(predicate, timeout):
            raise TimeoutError(f"waited {timeout}s for {what}{self._diagnostics()}")

    @property
    def version(self) -> int:
        """Counter bumped on every request and update; lets a UI long-poll for changes."""
        return self._version

    async def wait_for_change(self, since: int, timeout: float = 25.0) -> int:  # noqa: ASYNC109
        """Wait until ``version`` differs from ``since`` (or the timeout); return ``version``."""
        await self._signal.wait_for(lambda: self._version != since, timeout)
        return self._version

    def _diagnostics(self) -> str:
        parts = []
        if self.violations:
            parts.append(f"violations: {self.violations[-5:]!r}")
        failed = [f"{c.method}: {c.description}" for c in self.failed_calls[-5:]]
        if failed:
            parts.append(f"failed calls: {failed!r}")
        return ("; " + "; ".join(parts)) if parts else ""

    # --- HTTP layer ------------------------------------------------------------------------

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._version += 1
        self._signal.notify()

    def _violation(self, message: str) -> None:
        log.warning("Bot API violation: %s", message)
        self.violations.append(message)

    def _canonical(self, method: str) -> str | None:
        if self.spec is not None:
            return self.spec.canonical_method(method)
        return self._handlers_by_lower.get(method.lower())

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        raw_method = request.match_info["method"]
        is_poll = raw_method.lower() == "getupdates"
        call = ApiCall(method=raw_method, params={})
        if not is_poll:
            self._busy += 1
        self._touch()
        try:
            try:
                result = await self._process(request, raw_method, call)
            except ApiError as exc:
                call.status, call.response = exc.status, exc.body()
            except _Dropped:
                # A connection reset: the client gets no answer at all.
                call.status = 0
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=499)  # never reaches the client
            else:
                call.status, call.response = 200, {"ok": True, "result": result}
        except asyncio.CancelledError:
            call.status = 499  # client went away mid-request (nginx's convention)
            raise
        finally:
            if not is_poll:
                self._busy -= 1
            self.calls.append(call)
            self._touch()
        return web.json_response(call.response, status=call.status)

    async def _process(self, request: web.Request, raw_method: str, call: ApiCall) -> Any:
        if self.faults.down:
            raise ApiError(502, "Bad Gateway")
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        if request.match_info["token"] != self.token:
            raise ApiError(401, "Unauthorized")
        method = self._canonical(raw_method)
        if method is None:
            self._violation(f"unknown method {raw_method!r}")
            raise ApiError(404, "Not Found")
        call.method = method
        params = await self._read_params(request, method)
        call.params = params.values
        if self.spec is not None:
            errors = self.spec.validate(method, params.values, files=params.files)
            if errors:
                for error in errors:
                    self._violation(error)
                raise ApiError(400, "Bad Request: " + "; ".join(errors))
        rule = self.faults.take(method)
        if rule is not None:
            if rule.drop:
                raise _Dropped
            injected = rule.error()
            if injected is not None:
                await asyncio.sleep(rule.delay)
                raise injected
        handler = self._handlers.get(method)
        if handler is None:
            self._violation(f"{method}: method not supported by the sandbox")
            raise ApiError(400, "Bad Request: method not supported by the sandbox")
        result = await handler(params)
        if rule is not None and rule.delay:
            await asyncio.sleep(rule.delay)  # a slow answer: the work is done, the reply late
        return result

    async def _read_params(self, request: web.Request, method: str) -> _Params:
        raw: dict[str, str | UploadedFile] = dict(request.query)
        typed: dict[str, Any] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    self._violation(f"{method}: request body is not a JSON object")
                    raise ApiError(400, "Bad Request: can't parse JSON object")
                typed = body
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        raw[key] = UploadedFile(
                            value.filename, value.content_type, value.file.read()
                        )
                    else:
                        raw[key] = str(value)
        if self.spec is not None:
            values = self.spec.decode_params(method, raw)
            known: set[str] = set(self.spec.methods[method].fields)
        else:
            values = {
                k: v
                if isinstance(v, UploadedFile) or k in _STRING_PARAMS
                else decode_form_value(v, None)
                for k, v in raw.items()
            }
            known = set(_FILE_PARAMS)
        values.update(typed)
        # Multipart parts that are not parameters are attachments for attach://<name>.
        files = {k: v for k, v in values.items() if isinstance(v, UploadedFile) and k not in known}
        for key in files:
            del values[key]
        return _Params(method, values, files)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if self.faults.down:
            return web.json_response(ApiError(502, "Bad Gateway").body(), status=502)
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # --- helpers for handlers --------------------------------------------------------------

    def _now(self) -> int:
        return int(self.clock())

    def _chat_for(self, value: Any) -> ChatState:
        chat: ChatState | None = None
        if isinstance(value, str) and value.startswith("@"):
            name = value[1:].lower()
            chat = next(
                (
                    c
                    for c in self._chats.values()
                    if str(c.chat.get("username", "")).lower() == name
                ),
                None,
            )
        else:
            with contextlib.suppress(TypeError, ValueError):
                chat = self._chats.get(int(value))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _sendable_chat(self, params: _Params) -> ChatState:
        chat = self._chat_for(params.get("chat_id"))
        if chat.type == "private" and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.type != "private" and chat.bot_status not in ("member", "administrator"):
            verb = "was kicked from" if chat.bot_status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the {chat.type} chat")
        if self.rate_limits is not None:
            refused = self.rate_limits.admit(chat.id, time.monotonic())
            if refused is not None:
                raise refused
        return chat

    def _parse(self, text: str, parse_mode: str | None, entities: Any) -> ParsedText:
        try:
            parsed = parse_formatted(text, parse_mode)
        except EntityParseError as exc:
            raise ApiError(400, f"Bad Request: {exc}") from None
        except ValueError:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}") from None
        if parse_mode is None and isinstance(entities, list):
            parsed.entities = [e for e in entities if isinstance(e, dict)]
        return parsed

    def _new_message(
        self, chat: ChatState, sender: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message = {
            "message_id": message_id,
            "from": dict(sender),
            "chat": dict(chat.chat),
            "date": self._now(),
            **content,
        }
        chat.messages[message_id] = message
        return message

    def _reply_target(self, chat: ChatState, params: _Params) -> dict[str, Any] | None:
        reply = params.obj("reply_parameters")
        if not reply or reply.get("message_id") is None:
            return None
        target_chat = chat if reply.get("chat_id") is None else self._chat_for(reply["chat_id"])
        target = target_chat.messages.get(int(reply["message_id"]))
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _send(
        self, chat: ChatState, params: _Params, content: dict[str, Any], raw_text: str | None
    ) -> dict[str, Any]:
        reply_to = self._reply_target(chat, params)
        message = self._new_message(chat, self.bot_user, content)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        markup = params.obj("reply_markup")
        if markup and "inline_keyboard" in markup:
            # Messages only ever carry inline keyboards; reply keyboards live on the client.
            message["reply_markup"] = markup
        if params.flag("protect_content"):
            message["has_protected_content"] = True
        chat.sent.append(
            SentMessage(
                chat_id=chat.id,
                message_id=message["message_id"],
                method=params.method,
                params=dict(params.values),
                message=message,
                text=raw_text,
                reply_markup=markup,
            )
        )
        return message

    def _store_file(
        self,
        data: bytes,
        folder: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        extension: str = "bin",
    ) -> StoredFile:
        number = self._next_file
        self._next_file += 1
        if file_name and "." in file_name:
            extension = file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"SBX{folder[:3].upper()}{number:08d}AAQ",
            file_unique_id=f"AQAD{number:08d}",
            data=data,
            file_path=f"{folder}/file_{number}.{extension}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(self, params: _Params, name: str, folder: str, extension: str) -> StoredFile:
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.files.get(value.removeprefix("attach://"), value)
        if isinstance(value, UploadedFile):
            return self._store_file(
                value.data,
                folder,
                file_name=value.filename,
                mime_type=value.content_type,
                extension=extension,
            )
        if isinstance(value, str):
            if value in self._files:
                return self._files[value]
            if value.startswith(("http://", "https://")):
                # The sandbox is offline: accept URLs and store an empty placeholder.
                file_name = value.rstrip("/").rsplit("/", 1)[-1] or None
                return self._store_file(b"", folder, file_name=file_name, extension=extension)
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise ApiError(400, f"Bad Request: there is no {name} in the request")

    def _photo_sizes(self, stored: StoredFile) -> list[dict[str, Any]]:
        thumb = self._store_file(stored.data, "thumbnails", extension="jpg")
        return [
            {
                "file_id": thumb.file_id,
                "file_unique_id": thumb.file_unique_id,
                "file_size": len(thumb.data),
                "width": 90,
                "height": 68,
            },
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "width": 800,
                "height": 600,
            },
        ]

    @staticmethod
    def _document(stored: StoredFile) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def _caption_content(self, params: _Params) -> tuple[dict[str, Any], str | None]:
        caption = params.string("caption")
        if not caption:
            return {}, caption
        parsed = self._parse(caption, params.string("parse_mode"), params.get("caption_entities"))
        content: dict[str, Any] = {"caption": parsed.text}
        if parsed.entities:
            content["caption_entities"] = parsed.entities
        return content, caption

    def _editable(self, params: _Params) -> tuple[ChatState, dict[str, Any], SentMessage | None]:
        if params.has("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._chat_for(params.get("chat_id"))
        message = chat.messages.get(params.require_integer("message_id"))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        sent = next((s for s in chat.sent if s.message_id == message["message_id"]), None)
        return chat, message, sent

    @staticmethod
    def _inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
        """The inline keyboard a message would carry (None for none or an empty one)."""
        return markup if markup and markup.get("inline_keyboard") else None

    def _apply_markup(self, message: dict[str, Any], markup: dict[str, Any] | None) -> None:
        # An edit without reply_markup removes the inline keyboard, as on Telegram.
        inline = self._inline_markup(markup)
        if inline is not None:
            message["reply_markup"] = inline
        else:
            message.pop("reply_markup", None)

    def _my_chat_member(self, chat: ChatState, actor: dict[str, Any], old: str, new: str) -> int:
        def member(status: str) -> dict[str, Any]:
            body: dict[str, Any] = {"status": status, "user": self.bot_user}
            if status == "kicked":
                body["until_date"] = 0
            if status == "administrator":
                body.update(_ADMIN_RIGHTS)
            return body

        return self.inject_update(
            {
                "my_chat_member": {
                    "chat": dict(chat.chat),
                    "from": actor,
                    "date": self._now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    def _register_query(self, query_id: str, user_id: int, chat_id: int, message_id: int) -> None:
        self._queries[query_id] = _CallbackQuery(user_id, chat_id, message_id)

    def _update_allowed(self, kind: str) -> bool:
        if not self._allowed_updates:
            return kind not in _OPT_IN_UPDATES
        return kind in self._allowed_updates

    # --- methods ---------------------------------------------------------------------------

    async def _true(self, params: _Params) -> bool:
        return True

    async def _get_me(self, params: _Params) -> dict[str, Any]:
        me = self.bot_user
        if self.spec is not None:
            # Every "Returned only in getMe" flag the spec knows, so de_json sees a full User.
            for name, fspec in self.spec.types["User"].fields.items():
                if "Returned only in getMe" in fspec.description and fspec.types == ("Boolean",):
                    me[name] = False
        me.update(
            can_join_groups=True,
            can_read_all_group_messages=not self.privacy_mode,
            supports_inline_queries=False,
        )
        return me

    async def _get_updates(self, params: _Params) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        allowed = params.array("allowed_updates")
        if allowed is not None:
            self._allowed_updates = [str(kind) for kind in allowed]
        offset = params.integer("offset")
        if offset is not None:
            self._confirm(offset)
        limit = params.integer("limit") or 100
        timeout = max(0.0, float(params.integer("timeout") or 0))
        self._poll_generation += 1
        generation = self._poll_generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._polls_waiting += 1
        try:
            while True:
                batch = self._deliverable(limit)
                remaining = deadline - loop.time()
                if batch or self._closing or remaining <= 0 or self._webhook is not None:
                    break
                await self._signal.wait(remaining)
                if self._poll_generation != generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
        finally:
            self._polls_waiting -= 1
        for queued in batch:
            queued.delivered = True
        return [copy.deepcopy(q.update) for q in batch]

    def _deliverable(self, limit: int) -> list[_Queued]:
        batch = sorted(self._queue, key=lambda q: q.update_id)[:limit]
        return batch

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            # "updates starting from -offset update from the end of the queue"; earlier
            # ones are forgotten.
            self._queue = self._queue[offset:]
            return
        self._queue = [
            q for q in self._queue if q.update_id >= offset or (q.forced and not q.delivered)
        ]

    async def _set_webhook(self, params: _Params) -> bool:
        url = params.string("url") or ""
        if params.flag("drop_pending_updates"):
            self._queue.clear()
        allowed = params.array("allowed_updates")
        if allowed is not None:
            self._allowed_updates = [str(kind) for kind in allowed]
        if not url:
            self._webhook = None
            return True
        if not url.startswith(("http://", "https://")):
            # Telegram demands HTTPS; the sandbox also accepts plain HTTP for local servers.
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self._webhook = WebhookConfig(
            url=url,
            secret_token=params.string("secret_token"),
            max_connections=params.integer("max_connections") or 40,
            ip_address=params.string("ip_address"),
            has_custom_certificate=params.has("certificate"),
        )
        self._webhook_error = None
        self._touch()
        return True

    async def _delete_webhook(self, params: _Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._queue.clear()
        self._webhook = None
        self._touch()
        return True

    async def _get_webhook_info(self, params: _Params) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": bool(hook and hook.has_custom_certificate),
            "pending_update_count": len(self._queue),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.ip_address:
                info["ip_address"] = hook.ip_address
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._webhook_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _send_message(self, params: _Params) -> dict[str, Any]:
        chat = self._sendable_chat(params)
        text = params.require_string("text")
        parsed = self._parse(text, params.string("parse_mode"), params.get("entities"))
        if not parsed.text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(parsed.text.strip()) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        content: dict[str, Any] = {"text": parsed.text}
        if parsed.entities:
            content["entities"] = parsed.entities
        return self._send(chat, params, content, text)

    async def _send_photo(self, params: _Params) -> dict[str, Any]:
        chat = self._sendable_chat(params)
        stored = self._input_file(params, "photo", "photos", "jpg")
        content, caption = self._caption_content(params)
        return self._send(chat, params, {"photo": self._photo_sizes(stored), **content}, caption)

    async def _send_document(self, params: _Params) -> dict[str, Any]:
        chat = self._sendable_chat(params)
        stored = self._input_file(params, "document", "documents", "bin")
        content, caption = self._caption_content(params)
        return self._send(chat, params, {"document": self._document(stored), **content}, caption)

    async def _edit_message_text(self, params: _Params) -> dict[str, Any]:
        _chat, message, sent = self._editable(params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = params.require_string("text")
        parsed = self._parse(text, params.string("parse_mode"), params.get("entities"))
        if not parsed.text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = params.obj("reply_markup")
        if (
            parsed.text == message["text"]
            and parsed.entities == message.get("entities", [])
            and self._inline_markup(markup) == message.get("reply_markup")
        ):
            raise ApiError(400, _NOT_MODIFIED)
        message["text"] = parsed.text
        message.pop("entities", None)
        if parsed.entities:
            message["entities"] = parsed.entities
        self._apply_markup(message, markup)
        message["edit_date"] = self._now()
        if sent is not None:
            sent.text, sent.reply_markup = text, markup
            sent.edits.append(dict(params.values))
        return message

    async def _edit_message_caption(self, params: _Params) -> dict[str, Any]:
        _chat, message, sent = self._editable(params)
        if "text" in message:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        content, caption = self._caption_content(params)
        markup = params.obj("reply_markup")
        if (
            content.get("caption") == message.get("caption")
            and content.get("caption_entities") == message.get("caption_entities")
            and self._inline_markup(markup) == message.get("reply_markup")
        ):
            raise ApiError(400, _NOT_MODIFIED)
        message.pop("caption", None)
        message.pop("caption_entities", None)
        message.update(content)
        self._apply_markup(message, markup)
        message["edit_date"] = self._now()
        if sent is not None:
            sent.text, sent.reply_markup = caption, markup
            sent.edits.append(dict(params.values))
        return message

    async def _edit_message_reply_markup(self, params: _Params) -> dict[str, Any]:
        _chat, message, sent = self._editable(params)
        markup = params.obj("reply_markup")
        if self._inline_markup(markup) == message.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        self._apply_markup(message, markup)
        message["edit_date"] = self._now()
        if sent is not None:
            sent.reply_markup = markup
            sent.edits.append(dict(params.values))
        return message

    def _delete(self, chat: ChatState, message_id: int) -> bool:
        if chat.messages.pop(message_id, None) is None:
            return False
        for sent in chat.sent:
            if sent.message_id == message_id:
                sent.deleted = True
        return True

    async def _delete_message(self, params: _Params) -> bool:
        chat = self._chat_for(params.get("chat_id"))
        if not self._delete(chat, params.require_integer("message_id")):
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _delete_messages(self, params: _Params) -> bool:
        chat = self._chat_for(params.get("chat_id"))
        for message_id in params.array("message_ids") or []:
            self._delete(chat, int(message_id))  # missing ones are skipped, as documented
        return True

    async def _answer_callback_query(self, params: _Params) -> bool:
        query_id = params.require_string("callback_query_id")
        query = self._queries.get(query_id)
        if query is None or query.answered:
            raise ApiError(400, _QUERY_INVALID)
        query.answered = True
        self.callback_answers[query_id] = dict(params.values)
        return True

    async def _leave_chat(self, params: _Params) -> bool:
        chat = self._chat_for(params.get("chat_id"))
        if chat.type == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        if chat.bot_status not in ("member", "administrator"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        old = chat.bot_status
        chat.bot_status = "left"
        self._my_chat_member(chat, self.bot_user, old, "left")
        return True

    async def _get_chat(self, params: _Params) -> dict[str, Any]:
        chat = self._chat_for(params.get("chat_id"))
        if chat.type != "private" and chat.bot_status not in ("member", "administrator"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        info = dict(chat.chat)
        info.update(accent_color_id=0, max_reaction_count=11)
        info["accepted_gift_types"] = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        return info

    @staticmethod
    def _commands_key(params: _Params) -> tuple[str, str]:
        scope = params.obj("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.string("language_code") or ""

    async def _set_my_commands(self, params: _Params) -> bool:
        commands = params.array("commands") or []
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        self.commands[self._commands_key(params)] = [dict(c) for c in commands]
        return True

    async def _get_my_commands(self, params: _Params) -> list[dict[str, Any]]:
        return list(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: _Params) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, params: _Params) -> bool:
        chat_id = params.integer("chat_id")
        if chat_id is not None:
            chat = self._chat_for(chat_id)
            if chat.type != "private":
                raise ApiError(400, "Bad Request: chat is not private")
        self.menu_buttons[chat_id] = params.obj("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, params: _Params) -> dict[str, Any]:
        chat_id = params.integer("chat_id")
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        return dict(button) if button else {"type": "commands"}

    async def _send_chat_action(self, params: _Params) -> bool:
        chat = self._sendable_chat(params)
        self.chat_actions.append((chat.id, params.require_string("action")))
        return True

    async def _get_file(self, params: _Params) -> dict[str, Any]:
        stored = self._files.get(params.require_string("file_id"))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > _MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.as_file()

    # --- webhook delivery ------------------------------------------------------------------

    async def _webhook_worker(self) -> None:
        while not self._closing:
            await self._signal.wait_for(
                lambda: self._closing or (self._webhook is not None and bool(self._queue)), None
            )
            if self._closing:
                return
            hook = self._webhook
            if hook is None or not self._queue:
                continue
            queued = min(self._queue, key=lambda q: (not q.forced, q.update_id))
            self._webhook_busy += 1
            try:
                delivered = await self._post_update(hook, queued.update)
            finally:
                self._webhook_busy -= 1
            if queued in self._queue:
                self._queue.remove(queued)
            if not delivered:
                self.webhook_failures.append(queued.update)
            self._touch()

    async def _post_update(self, hook: WebhookConfig, update: dict[str, Any]) -> bool:
        if self._session is None:
            return False
        headers = (
            {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        )
        for attempt in range(self.webhook_attempts):
            try:
                async with self._session.post(hook.url, json=update, headers=headers) as resp:
                    if 200 <= resp.status < 300:
                        return True
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc.__class__.__name__}"
            self._webhook_error = (self._now(), error)
            log.info("webhook delivery of update %s failed: %s", update["update_id"], error)
            if self._webhook is not hook:
                return False  # webhook changed meanwhile
            await asyncio.sleep(self.webhook_retry_delay * (2**attempt))
        return False


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}
