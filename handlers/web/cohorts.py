"""Cohorts and registers: facilitators (and admins) record a whole session in one form."""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import DomainError, NotFound
from bot.services import admin
from handlers.web.app import render, services, signed_in_email, words

# The register's choices, as the CLI names them.
CHOICES = admin.ATTENDANCE_CHOICES


def add_routes(app: web.Application) -> None:
    app.router.add_get("/cohorts", show_cohorts)
    app.router.add_get("/cohorts/{id:[0-9]{1,18}}/sessions/{number:[0-9]{1,4}}", show_register)
    app.router.add_post("/cohorts/{id:[0-9]{1,18}}/sessions/{number:[0-9]{1,4}}", submit_register)


async def show_cohorts(request: web.Request) -> web.Response:
    cohorts = await admin.cohorts_run_by(services(request), signed_in_email(request))
    return render(request, "cohorts.html", cohorts=cohorts)


async def show_register(
    request: web.Request, error: str | None = None, notice: str | None = None
) -> web.Response:
    try:
        register = await admin.session_register(
            services(request),
            signed_in_email(request),
            int(request.match_info["id"]),
            int(request.match_info["number"]),
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    return render(
        request,
        "register.html",
        status=400 if error else 200,
        register=register,
        choices=CHOICES,
        error=error,
        notice=notice,
    )


async def submit_register(request: web.Request) -> web.Response:
    form = await request.post()
    outcomes = {}
    for key, value in form.items():
        if key.startswith("outcome-") and value in CHOICES:
            outcomes[key.removeprefix("outcome-")] = CHOICES[str(value)]
    try:
        changed = await admin.record_session(
            services(request),
            signed_in_email(request),
            int(request.match_info["id"]),
            int(request.match_info["number"]),
            outcomes,
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    except DomainError as problem:  # a wrong row: the register again, with what to fix
        return await show_register(request, error=words(request).error(problem))
    t = words(request)
    notice = (
        t.trn("Saved: %(num)s changed.", "Saved: %(num)s changed.", changed)
        if changed
        else t.tr("Saved: nothing changed.")
    )
    return await show_register(request, notice=notice)
