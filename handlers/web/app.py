"""The staff dashboard: aiohttp with server-rendered Jinja2 pages, no JavaScript needed.

Every request passes four middlewares, in order: its SQLite statements off the event loop,
security headers (strict CSP, no-store), the session (from the cookie, resumed or refused)
and CSRF (every POST). Views call the same services as the CLI and map rule errors to a
message or an HTTP status.

Every page is in English or Welsh (`handlers/web/i18n.py`): the member of staff's own choice,
kept in a cookie by the switch in the page header, else what the browser asks for.
"""

from __future__ import annotations

import base64
import io
import ipaddress
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import qrcode
import qrcode.image.svg
from aiohttp import web

from bot.db.sqlite_on_loop import statements_in_a_thread
from bot.domain import roles
from bot.domain.roles import Role
from bot.services import staff_auth
from bot.services.context import ServiceContext
from bot.services.staff_auth import SignedIn
from handlers.web.i18n import Dashboard, Words
from handlers.web.labels import Labels

HERE = Path(__file__).parent
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SERVICES = web.AppKey("services", ServiceContext)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
# Served over https by a proxy (COMPANION_WEB_URL is https://): cookies are always Secure.
PUBLIC_HTTPS = web.AppKey("public_https", bool)
# Proxies whose X-Forwarded-For names the real client (for throttling and the audit log).
TRUSTED_PROXIES = web.AppKey("trusted_proxies", frozenset)
# The dashboard's languages: English and every `dashboard.po`, compiled once.
LANGUAGES = web.AppKey("languages", Dashboard)
# Who is using this request's session: None before signing in.
SIGNED_IN: web.RequestKey[SignedIn | None] = web.RequestKey("signed_in")
# The language this request's pages and messages are in (see `words`).
WORDS: web.RequestKey[Words] = web.RequestKey("words")

# Pages that work before signing in (each still needs the CSRF token on POST).
PUBLIC = ("/sign-in", "/set-password/", "/static/", "/healthz", "/language")
# Pages for someone whose password was right but whose TOTP code is still to come.
SECOND_FACTOR = ("/sign-in/code", "/sign-in/set-up", "/sign-out")

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def make_web_app(
    services: ServiceContext,
    *,
    public_https: bool = False,
    trusted_proxies: frozenset[str] = frozenset(),
) -> web.Application:
    from handlers.web import (
        admin_pages,
        caseload,
        cohorts,
        participants,
        queue,
        replies,
        sign_in,
    )

    app = web.Application(
        middlewares=[_statements_in_a_thread, _security_headers, _session, _csrf],
        client_max_size=256 * 1024,
    )
    app[SERVICES] = services
    app[PUBLIC_HTTPS] = public_https
    app[TRUSTED_PROXIES] = trusted_proxies
    app[LANGUAGES] = Dashboard()
    app[TEMPLATES] = _templates()
    app.router.add_static("/static/", HERE / "static")
    app.router.add_get("/healthz", _healthz)
    app.router.add_post("/keep-alive", _keep_alive)
    app.router.add_post("/language", _choose_language)
    sign_in.add_routes(app)
    queue.add_routes(app)
    cohorts.add_routes(app)
    admin_pages.add_routes(app)
    participants.add_routes(app)
    caseload.add_routes(app)
    replies.add_routes(app)
    return app


def _templates() -> jinja2.Environment:
    """Jinja2 with newstyle gettext: each render passes its own language's `_`, `gettext`
    and `ngettext` (no translations installed globally), and filters for dates in it."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    env.policies["ext.i18n.trimmed"] = True
    for name in (
        "day",
        "long_date",
        "short_date",
        "time",
        "day_at",
        "date_time",
        "short_day_time",
        "timestamp",
    ):
        env.filters[name] = _date_filter(name)
    return env


def _date_filter(name: str) -> Callable[..., str]:
    """`{{ value|day }}`: the page's own language's way of writing a day or a time."""

    @jinja2.pass_context
    def apply(context: jinja2.runtime.Context, value: Any) -> str:
        formatted: str = getattr(context["words"], name)(value)
        return formatted

    return apply


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _keep_alive(request: web.Request) -> web.Response:
    """ "Stay signed in": the session middleware has already renewed the idle timer."""
    signed_in(request)
    return web.Response(status=204)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    signed_in = request.get(SIGNED_IN)
    chosen = words(request)
    html = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(
            signed_in=signed_in,
            csrf_token=signed_in.csrf_token if signed_in else "",
            idle_minutes=int(staff_auth.IDLE_TIMEOUT.total_seconds() // 60),
            menu=_menu(signed_in.role if signed_in else None, chosen),
            words=chosen,
            labels=Labels(chosen),
            other_languages=[w for w in request.app[LANGUAGES].all() if w != chosen],
            here=_this_page(request),
            **chosen.template_functions(),
            **context,
        )
    )
    return web.Response(text=html, content_type="text/html", status=status)


def _menu(role: Role | None, t: Words) -> list[tuple[str, str]]:
    """The main menu's links for a role."""
    if role is None:
        return []
    links = [("/", t.tr("Queue"))]
    if role in roles.WORKS_WITH_PARTICIPANTS:
        links.append(("/participants", t.tr("Participants")))
    if role in roles.RUNS_COHORTS:
        links += [("/cohorts", t.tr("Cohorts")), ("/participants/new", t.tr("Add participant"))]
    if role in roles.ANSWERS_PARTICIPANTS:
        links.append(("/saved-replies", t.tr("Saved replies")))
    if role is Role.ADMIN:
        links += [("/staff", t.tr("Staff")), ("/audit", t.tr("Audit log"))]
    return [*links, ("/telegram", t.tr("Alerts"))]


# --- language --------------------------------------------------------------------------------


def words(request: web.Request) -> Words:
    """This request's language: the member of staff's choice (the cookie), else the first
    one the browser's Accept-Language asks for that the dashboard has, else English."""
    chosen = request.get(WORDS)
    if chosen is None:
        chosen = request.app[LANGUAGES].choose(
            request.cookies.get(language_cookie_name(request)),
            request.headers.get("Accept-Language"),
        )
        request[WORDS] = chosen
    return chosen


async def _choose_language(request: web.Request) -> web.Response:
    """The header's language switch: remember the choice, and show the same page again."""
    form = await request.post()
    chosen = request.app[LANGUAGES].get(str(form.get("language", "")))
    response = web.HTTPSeeOther(_local_path(str(form.get("next", ""))))
    if chosen is not None:
        response.set_cookie(
            language_cookie_name(request),
            chosen.language,
            path="/",
            max_age=365 * 24 * 3600,
            httponly=True,
            secure=not _local_plain_http(request),
            samesite="Strict",
        )
    raise response


def _this_page(request: web.Request) -> str:
    """Where the language switch comes back to: this page, or after a form was sent, the
    page the form was on (e.g. /absences/5 for a POST to /absences/5/decide)."""
    if request.method in ("GET", "HEAD"):
        return request.path_qs
    resource = request.match_info.route.resource
    if resource is not None and any(route.method == "GET" for route in resource):
        return request.path
    return request.path.rsplit("/", 1)[0] or "/"


def _local_path(path: str) -> str:
    """A path on this site to go back to; anything else (another site) is the queue."""
    parts = urlsplit(path)
    if (
        not path.startswith("/")
        or path.startswith("//")
        or parts.scheme
        or parts.netloc
        or any(ch < " " or ch == "\\" for ch in path)
        or len(path) > 2000
    ):
        return "/"
    return path


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI (allowed by the CSP; no script, no request)."""
    svg = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage).save(svg)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode()


def signed_in(request: web.Request) -> SignedIn:
    """The fully signed-in member of staff (the middleware let only them through)."""
    value = request[SIGNED_IN]
    assert value is not None  # noqa: S101 - the session middleware let only them through
    return value


def signed_in_email(request: web.Request) -> str:
    """Whose request this is, for the services (which check what that person may do)."""
    email = signed_in(request).email
    assert email is not None  # noqa: S101 - the session middleware let only them through
    return email


def services(request: web.Request) -> ServiceContext:
    return request.app[SERVICES]


def client_address(request: web.Request) -> str:
    """The client's address; behind a trusted proxy, the last hop it added."""
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if remote in request.app[TRUSTED_PROXIES] and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()[:64] or remote
    return remote


# --- cookies ---------------------------------------------------------------------------------


def _local_plain_http(request: web.Request) -> bool:
    """Plain http on this machine only (development, the demo): the cookie cannot be Secure."""
    if request.secure or request.app[PUBLIC_HTTPS]:
        return False
    host = request.host.rsplit(":", 1)[0].strip("[]")
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cookie_name(request: web.Request) -> str:
    return "companion_session" if _local_plain_http(request) else "__Host-companion_session"


def language_cookie_name(request: web.Request) -> str:
    return "companion_language" if _local_plain_http(request) else "__Host-companion_language"


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        cookie_name(request),
        token,
        path="/",
        httponly=True,
        secure=not _local_plain_http(request),
        samesite="Strict",
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(
        cookie_name(request), path="/", secure=not _local_plain_http(request), samesite="Strict"
    )


# --- middlewares -----------------------------------------------------------------------------


@web.middleware
async def _statements_in_a_thread(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A page's queries can take tens of milliseconds (a million queue items): on SQLite
    they run in a thread, so the bot in the same process answers meanwhile."""
    with statements_in_a_thread():
        return await handler(request)


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if not request.path.startswith("/static/"):
        # Pages carry personal data: never kept by the browser or a proxy.
        headers["Cache-Control"] = "no-store"
    if request.secure or request.app[PUBLIC_HTTPS]:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def _session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resume the session from the cookie; send anyone not signed in to the sign-in page."""
    ctx = request.app[SERVICES]
    current = await staff_auth.resume(ctx, request.cookies.get(cookie_name(request)))
    request[SIGNED_IN] = current
    path = request.path
    if path.startswith(PUBLIC) and not path.startswith(SECOND_FACTOR):
        return await handler(request)
    if current is None or current.staff_id is None:
        raise web.HTTPSeeOther("/sign-in")
    if not current.complete and not path.startswith(SECOND_FACTOR):
        raise web.HTTPSeeOther("/sign-in/set-up" if current.needs_totp_setup else "/sign-in/code")
    return await handler(request)


@web.middleware
async def _csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No state change without the session's own token (and no state change on GET)."""
    if request.method == "POST":
        form = await request.post()
        current = request.get(SIGNED_IN)
        given = form.get("csrf_token")
        if current is None or not staff_auth.csrf_matches(
            current, given if isinstance(given, str) else None
        ):
            raise web.HTTPForbidden(
                text=words(request).tr("This form has expired. Go back, reload and try again.")
            )
    return await handler(request)
