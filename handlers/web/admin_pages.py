"""Admin pages: the audit log."""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import NotFound
from bot.services import audit_log
from handlers.web.app import render, services, signed_in


def add_routes(app: web.Application) -> None:
    app.router.add_get("/audit", show_audit)


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
            before=int(before) if before.isdigit() else None,
            **filters,
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=str(missing)) from None
    more = len(entries) == audit_log.PAGE
    return render(request, "audit.html", entries=entries, filters=filters, more=more)
