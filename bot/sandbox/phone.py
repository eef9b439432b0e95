"""The phone page: a Telegram private chat in the browser, on top of ``BotApiSandbox``.

A visitor picks one of the demo phones and chats with the bot as that user: message bubbles,
the bot's inline keyboards (a press is a real callback query through the sandbox) and reply
keyboard, text, photos and files, and deep-link ``/start`` (``/phone?as=ID&start=CODE``; a
link without ``as``, as the demo's dashboard gives, asks which phone to open it on).
It works with plain forms; with JavaScript (``static/phone.js``, no inline script) it updates
live by long-polling ``/phone/updates``, which waits on ``sandbox.wait_for_change``.

It is a developer's and trainer's tool for the demo, so its own words are plain English; what
the bot says is whatever the bot sends. Serve it on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.sandbox.actors import SandboxUser
from bot.sandbox.server import BotApiSandbox

HERE = Path(__file__).parent
MAX_UPLOAD = 20 * 1024 * 1024  # what a bot may download with getFile
LONG_POLL_SECONDS = 25.0
# Without JavaScript a form post waits this long for the bot's answer before showing the chat.
FORM_ANSWER_SECONDS = 3.0
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PHOTO_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


@dataclass(frozen=True, slots=True)
class Phone:
    """A demo phone: the Telegram user a visitor can be."""

    user_id: int
    name: str  # whose phone it is, as the list shows it
    first_name: str  # the Telegram first name
    language_code: str | None
    about: str  # one line on what this person shows
    start_code: str | None = None  # a deep-link /start code waiting to be used


@dataclass(frozen=True, slots=True)
class SignIn:
    """A demo member of staff's dashboard sign-in, with the code their app would show now."""

    role: str
    name: str
    email: str
    password: str | None
    code: str | None
    seconds_left: int
    used: bool  # this code has signed someone in already; the next one is needed


class PhoneDirectory(Protocol):
    """Where the phone page learns who the phones belong to (the demo data)."""

    async def phones(self) -> list[Phone]: ...

    async def sign_ins(self) -> list[SignIn]: ...


@dataclass
class _State:
    sandbox: BotApiSandbox
    directory: PhoneDirectory
    dashboard_url: str | None
    zone: tzinfo
    tips: tuple[str, ...]
    templates: jinja2.Environment
    # The last inline button each phone pressed (update id), for the bot's answer to it.
    presses: dict[int, int] = field(default_factory=dict)


STATE = web.AppKey("phone_state", _State)


def make_phone_app(
    sandbox: BotApiSandbox,
    directory: PhoneDirectory,
    *,
    dashboard_url: str | None = None,
    zone: tzinfo = UTC,
    tips: Sequence[str] = (),
) -> web.Application:
    """The phone page's aiohttp app (run it with ``handler_cancellation=True``).

    ``zone`` is the one message times are shown in; ``tips`` are the "what to try" list.
    """
    app = web.Application(
        middlewares=[_security_headers, _same_origin], client_max_size=MAX_UPLOAD + 64 * 1024
    )
    app[STATE] = _State(sandbox, directory, dashboard_url, zone, tuple(tips), _templates())
    app.router.add_get("/", _index)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/phone", _phone)
    app.router.add_get("/phone/updates", _updates)
    app.router.add_post("/phone/send", _send)
    app.router.add_post("/phone/press", _press)
    app.router.add_post("/phone/upload", _upload)
    app.router.add_get("/phone/file/{user_id:\\d+}/{file_id}", _file)
    app.router.add_get("/staff", _staff)
    app.router.add_get("/staff/codes", _staff_codes)
    app.router.add_static("/static/", HERE / "static")
    return app


def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


# --- middlewares ---------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        _add_headers(error.headers)
        raise
    _add_headers(response.headers)
    return response


def _add_headers(headers: Any) -> None:
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def _same_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Another site in the same browser must not post as a demo phone."""
    if request.method == "POST":
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        if site not in (None, "same-origin", "none") or (
            origin is not None and origin != f"{request.scheme}://{request.host}"
        ):
            raise web.HTTPForbidden(text="Cross-site requests are refused.")
    return await handler(request)


# --- pages ---------------------------------------------------------------------------------


def _render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    state = request.app[STATE]
    page = state.templates.get_template(name).render(
        dashboard_url=state.dashboard_url, bot=_bot(state.sandbox), **values
    )
    return web.Response(text=page, status=status, content_type="text/html")


def _bot(sandbox: BotApiSandbox) -> dict[str, str]:
    return {"name": sandbox.bot_first_name, "username": sandbox.bot_username}


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _index(request: web.Request) -> web.Response:
    phones = await request.app[STATE].directory.phones()
    tips = request.app[STATE].tips
    # An enrolment link from the dashboard (``/phone?start=CODE``) names no phone: as with a
    # real link, it opens on whichever phone follows it, so the visitor chooses one.
    opening = start_parameter(request.query.get("start", "")) or None
    return _render(
        request, "phone_index.html", phones=phones, link=phone_link, tips=tips, opening=opening
    )


def phone_link(phone: Phone, start: str | None = None) -> str:
    """The phone's page, with a deep link: ``start``, or the code waiting for this phone."""
    query: dict[str, str | int] = {"as": phone.user_id}
    code = start or phone.start_code
    if code:
        query["start"] = code
    return "/phone?" + urlencode(query)


async def _phone(request: web.Request) -> web.Response:
    state = request.app[STATE]
    phones = await state.directory.phones()
    phone = _find(phones, request.query.get("as"))
    start = start_parameter(request.query.get("start", ""))
    if phone is None:
        raise web.HTTPSeeOther("/?" + urlencode({"start": start}) if start else "/")
    user = _user(state.sandbox, phone)
    view = chat_view(state, user)
    return _render(
        request,
        "phone.html",
        phone=phone,
        phones=phones,
        start=start,
        view=view,
        etag=view.etag,
        empty_start=request.query.get("start") is not None and not start,
    )


async def _updates(request: web.Request) -> web.Response:
    """Long poll: answers when this phone's chat looks different from ``seen`` (or after
    ``wait`` seconds), with the chat and keyboard rendered again."""
    state = request.app[STATE]
    phone = _find(await state.directory.phones(), request.query.get("as"))
    if phone is None:
        raise web.HTTPNotFound(text="There is no such phone.")
    user = _user(state.sandbox, phone)
    seen = request.query.get("seen", "")
    try:
        wait = min(max(float(request.query.get("wait", "0")), 0.0), LONG_POLL_SECONDS)
    except ValueError:
        raise web.HTTPBadRequest(text="wait must be a number of seconds.") from None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    version = state.sandbox.version
    view = chat_view(state, user)
    while view.etag == seen and (remaining := deadline - loop.time()) > 0:
        version = await state.sandbox.wait_for_change(version, remaining)
        view = chat_view(state, user)
    fragments = _fragments(state, phone, view)
    return web.json_response({"etag": view.etag, **fragments})


def _fragments(state: _State, phone: Phone, view: ChatView) -> dict[str, str]:
    messages = state.templates.get_template("_messages.html")
    keyboard = state.templates.get_template("_keyboard.html")
    return {
        "messages": messages.render(view=view, phone=phone, bot=_bot(state.sandbox)),
        "keyboard": keyboard.render(view=view, phone=phone),
        "notice": view.notice or "",
    }


async def _send(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    phone, user = await _poster(request, form.get("as"))
    words = str(form.get("text", "")).strip()
    if not words:
        return await _done(request, phone, None)
    mark = _bot_mark(state.sandbox, user)
    user.send_text(words[:4096])
    return await _done(request, phone, mark)


async def _press(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    phone, user = await _poster(request, form.get("as"))
    try:
        message_id = int(str(form.get("message_id", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="message_id must be a number.") from None
    mark = _bot_mark(state.sandbox, user)
    try:
        update_id = user.press(message_id, str(form.get("data", "")))
    except LookupError:
        # Telegram does not offer a button that has gone: the page was out of date.
        return await _done(request, phone, None)
    state.presses[user.id] = update_id
    return await _done(request, phone, mark)


async def _upload(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    phone, user = await _poster(request, form.get("as"))
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return await _done(request, phone, None)
    data = upload.file.read(MAX_UPLOAD + 1)
    if not data or len(data) > MAX_UPLOAD:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD, actual_size=len(data))
    caption = str(form.get("caption", "")).strip()[:1024] or None
    mark = _bot_mark(state.sandbox, user)
    if _photo_type(data) in ("image/jpeg", "image/png"):
        user.send_photo(data, caption=caption)
    else:
        name = Path(upload.filename or "file").name or "file"
        user.send_document(
            data, name, upload.content_type or "application/octet-stream", caption=caption
        )
    return await _done(request, phone, mark)


async def _poster(request: web.Request, value: object) -> tuple[Phone, SandboxUser]:
    state = request.app[STATE]
    phone = _find(await state.directory.phones(), value)
    if phone is None:
        raise web.HTTPNotFound(text="There is no such phone.")
    return phone, _user(state.sandbox, phone)


def _bot_mark(sandbox: BotApiSandbox, user: SandboxUser) -> tuple[int, int]:
    """How much the bot has said in this chat (messages sent, edits made)."""
    sent = sandbox.messages_to(user.chat_id)
    return len(sent), sum(len(s.edits) for s in sent)


async def _done(
    request: web.Request, phone: Phone, mark: tuple[int, int] | None
) -> web.StreamResponse:
    """JavaScript gets an answer at once (the long poll shows the bot's reply); a plain form
    waits a moment for the bot's answer, then shows the chat again."""
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"ok": True})
    sandbox = request.app[STATE].sandbox
    if mark is not None:
        user = _user(sandbox, phone)
        with contextlib.suppress(TimeoutError):
            await sandbox.wait_until(
                lambda: _bot_mark(sandbox, user) != mark, timeout=FORM_ANSWER_SECONDS
            )
    raise web.HTTPSeeOther("/phone?" + urlencode({"as": phone.user_id}) + "#composer")


async def _file(request: web.Request) -> web.StreamResponse:
    """A photo or file from this phone's chat: photos shown, anything else downloaded."""
    state = request.app[STATE]
    user_id = int(request.match_info["user_id"])
    file_id = request.match_info["file_id"]
    found = _file_in_chat(state.sandbox, user_id, file_id)
    if found is None:
        raise web.HTTPNotFound(text="There is no such file in this chat.")
    name, is_photo = found
    data = state.sandbox.file_bytes(file_id)
    kind = _photo_type(data) if is_photo else None
    if kind is not None:
        return web.Response(body=data, content_type=kind)
    response = web.Response(body=data, content_type="application/octet-stream")
    response.headers["Content-Disposition"] = _attachment(name)
    return response


def _attachment(name: str) -> str:
    ascii_name = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f'attachment; filename="{ascii_name}"'


def _file_in_chat(sandbox: BotApiSandbox, user_id: int, file_id: str) -> tuple[str, bool] | None:
    """Only files that are in this chat can be fetched (name, whether it is a photo)."""
    try:
        chat = sandbox.chat(user_id)
    except KeyError:
        return None
    for message in chat.messages.values():
        for size in message.get("photo") or []:
            if size.get("file_id") == file_id:
                return "photo.jpg", True
        document = message.get("document") or {}
        if document.get("file_id") == file_id:
            return str(document.get("file_name") or "file"), False
    return None


def _photo_type(data: bytes) -> str | None:
    for magic, kind in _PHOTO_TYPES.items():
        if data.startswith(magic):
            return kind
    return None


async def _staff(request: web.Request) -> web.Response:
    sign_ins = await request.app[STATE].directory.sign_ins()
    return _render(request, "staff.html", sign_ins=sign_ins)


async def _staff_codes(request: web.Request) -> web.Response:
    sign_ins = await request.app[STATE].directory.sign_ins()
    return web.json_response(
        [
            {"email": s.email, "code": s.code, "seconds_left": s.seconds_left, "used": s.used}
            for s in sign_ins
        ]
    )


# --- the chat as the page shows it ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Bubble:
    message_id: int
    mine: bool
    html: Markup | None
    time: str
    edited: bool
    photo: str | None = None  # file id of the largest size
    document: tuple[str, str, int] | None = None  # file id, name, size
    sticker: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChatView:
    bubbles: list[Bubble]
    keyboard: list[list[str]]  # the reply keyboard under the chat, if any
    placeholder: str | None
    notice: str | None  # the bot's answer to the last button pressed
    etag: str


def chat_view(state: _State, user: SandboxUser) -> ChatView:
    sandbox = state.sandbox
    chat = sandbox.chat(user.chat_id)
    bubbles = [
        _bubble(message, user.id, state.zone)
        for _, message in sorted(chat.messages.items())
        if _shown(message)
    ]
    keyboard, placeholder = reply_keyboard(s.reply_markup for s in sandbox.messages_to(user.id))
    notice = None
    pressed = state.presses.get(user.id)
    if pressed is not None:
        answer = sandbox.callback_answer(pressed) or {}
        notice = str(answer["text"]) if answer.get("text") else None
    signature = json.dumps(
        [[_bubble_key(b) for b in bubbles], keyboard, placeholder, notice],
        default=str,
        ensure_ascii=False,
    )
    etag = hashlib.sha256(signature.encode()).hexdigest()[:16]
    return ChatView(bubbles, keyboard, placeholder, notice, etag)


def _shown(message: dict[str, Any]) -> bool:
    return any(key in message for key in ("text", "caption", "photo", "document", "sticker"))


def _bubble_key(bubble: Bubble) -> list[Any]:
    return [
        bubble.message_id,
        str(bubble.html),
        bubble.edited,
        bubble.photo,
        bubble.document,
        bubble.sticker,
        [[(b.text, b.callback_data, b.url) for b in row] for row in bubble.buttons],
    ]


def _bubble(message: dict[str, Any], user_id: int, zone: tzinfo) -> Bubble:
    words = message.get("text", message.get("caption"))
    entities = message.get("entities", message.get("caption_entities")) or []
    photo = message.get("photo") or []
    document = message.get("document")
    sticker = message.get("sticker")
    sent_at = datetime.fromtimestamp(int(message.get("date", 0)), UTC).astimezone(zone)
    return Bubble(
        message_id=int(message["message_id"]),
        mine=(message.get("from") or {}).get("id") == user_id,
        html=entities_html(str(words), entities) if words is not None else None,
        time=sent_at.strftime("%H:%M"),
        edited="edit_date" in message,
        photo=str(photo[-1]["file_id"]) if photo else None,
        document=(
            (
                str(document["file_id"]),
                str(document.get("file_name") or "file"),
                int(document.get("file_size") or 0),
            )
            if document
            else None
        ),
        sticker=str(sticker.get("emoji") or "sticker") if sticker else None,
        buttons=inline_buttons(message.get("reply_markup")),
    )


def inline_buttons(markup: dict[str, Any] | None) -> list[list[Button]]:
    rows = []
    for row in (markup or {}).get("inline_keyboard") or []:
        rows.append(
            [
                Button(
                    str(b.get("text", "")),
                    str(b["callback_data"]) if "callback_data" in b else None,
                    str(b["url"]) if "url" in b else None,
                )
                for b in row
                if isinstance(b, dict)
            ]
        )
    return rows


def reply_keyboard(
    markups: Iterable[dict[str, Any] | None],
) -> tuple[list[list[str]], str | None]:
    """The reply keyboard a phone shows: the last one the bot sent, until it removes it."""
    keyboard: list[list[str]] = []
    placeholder = None
    for markup in markups:
        if not markup:
            continue
        if "keyboard" in markup:
            keyboard = [
                [str(b["text"]) if isinstance(b, dict) else str(b) for b in row]
                for row in markup["keyboard"]
            ]
            placeholder = markup.get("input_field_placeholder")
        elif markup.get("remove_keyboard"):
            keyboard, placeholder = [], None
    return keyboard, placeholder


_TAGS = {
    "bold": ("<strong>", "</strong>"),
    "italic": ("<em>", "</em>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre><code>", "</code></pre>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
}


def entities_html(text: str, entities: Sequence[dict[str, Any]]) -> Markup:
    """Message text with its entities as HTML (offsets count UTF-16 code units)."""
    index_of: dict[int, int] = {}
    position = 0
    for index, char in enumerate(text):
        index_of[position] = index
        position += 2 if ord(char) > 0xFFFF else 1
    index_of[position] = len(text)
    opens: dict[int, list[tuple[int, str]]] = {}
    closes: dict[int, list[str]] = {}
    spans = []
    for entity in entities:
        start = index_of.get(int(entity.get("offset", -1)))
        end = index_of.get(int(entity.get("offset", -1)) + int(entity.get("length", 0)))
        tags = _tags(entity, text[start:end] if start is not None else "")
        if start is None or end is None or end <= start or tags is None:
            continue
        spans.append((start, end, tags))
    # Outer spans first where they start together, so the tags nest.
    for start, end, (open_tag, close_tag) in sorted(spans, key=lambda s: (s[0], -s[1])):
        opens.setdefault(start, []).append((end, open_tag))
        closes.setdefault(end, []).insert(0, close_tag)
    if not _nested(spans):
        return Markup(html.escape(text))  # noqa: S704 - escaped
    out = []
    for index, char in enumerate(text):
        out.extend(closes.get(index, []))
        out.extend(tag for _, tag in opens.get(index, []))
        out.append(html.escape(char))
    out.extend(closes.get(len(text), []))
    # Every character is escaped; the tags are our own, with escaped attribute values.
    return Markup("".join(out))  # noqa: S704


def _tags(entity: dict[str, Any], covered: str) -> tuple[str, str] | None:
    kind = str(entity.get("type"))
    if kind in _TAGS:
        return _TAGS[kind]
    if kind in ("text_link", "url"):
        href = str(entity.get("url") or covered)
        if urlsplit(href).scheme in ("http", "https"):
            return f'<a href="{html.escape(href)}" rel="noopener noreferrer">', "</a>"
    return None


def _nested(spans: list[tuple[int, int, tuple[str, str]]]) -> bool:
    """Telegram's entities nest; anything crossing is shown as plain text."""
    for a_start, a_end, _ in spans:
        for b_start, b_end, _ in spans:
            if a_start < b_start < a_end < b_end:
                return False
    return True


def start_parameter(value: str) -> str:
    """The start code from a link (``https://t.me/bot?start=CODE``, or the demo's own
    ``http://127.0.0.1:8180/phone?start=CODE``) or a bare code."""
    value = value.strip()
    if "://" in value or value.startswith("t.me/"):
        query = parse_qs(urlsplit(value if "://" in value else "https://" + value).query)
        value = (query.get("start") or [""])[0]
    return "".join(c for c in value if c.isalnum() or c in "_-")[:64]


def _find(phones: Sequence[Phone], value: object) -> Phone | None:
    try:
        wanted = int(str(value))
    except ValueError:
        return None
    return next((p for p in phones if p.user_id == wanted), None)


def _user(sandbox: BotApiSandbox, phone: Phone) -> SandboxUser:
    return sandbox.user(phone.user_id, phone.first_name, phone.language_code)
