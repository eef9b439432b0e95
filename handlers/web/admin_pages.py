"""Account pages: Telegram alerts for anyone; the audit log for admins."""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import NotFound
from bot.services import admin, audit_log
from handlers.web.app import render, services, signed_in


def add_routes(app: web.Application) -> None:
    app.router.add_get("/audit", show_audit)
    app.router.add_get("/telegram", show_telegram)
    app.router.add_post("/telegram", link_telegram)


async def show_telegram(request: web.Request) -> web.Response:
    me = signed_in(request)
    assert me.email is not None  # noqa: S101 - signed in
    linked = await admin.telegram_linked(services(request), me.email)
    return render(request, "telegram.html", linked=linked, code=None, days=_code_days(request))


async def link_telegram(request: web.Request) -> web.Response:
    """A one-time code to send the bot; his alerts then say only "New item in your queue"."""
    me = signed_in(request)
    assert me.email is not None  # noqa: S101 - signed in
    ctx = services(request)
    code = await admin.issue_staff_code(
        ctx, f"staff:{me.staff_id}", me.email, await admin.bot_username(ctx)
    )
    linked = await admin.telegram_linked(ctx, me.email)
    return render(request, "telegram.html", linked=linked, code=code, days=_code_days(request))


def _code_days(request: web.Request) -> int:
    return services(request).profile.programme.enrolment_code_days


async def show_audit(request: web.Request) -> web.Response:
    email = signed_in(request).email
    assert email is not None  # noqa: S101 - signed in
    query = request.query
    before = query.get("before", "")
    filters = {key: query.get(key, "") for key in ("actor", "action", "subject")}
    try:
        entries = await audit_log.read(
            services(request),
            email,
            before=int(before)
            if before.isascii() and before.isdigit() and len(before) < 19
            else None,
            **filters,
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=str(missing)) from None
    more = len(entries) == audit_log.PAGE
    return render(request, "audit.html", entries=entries, filters=filters, more=more)
