"""Adding a participant: his enrolment code, and a QR code of the deep link to scan."""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import DomainError
from bot.domain.roles import Role
from bot.services import admin
from handlers.web.app import qr_data_uri, render, services, signed_in, words


def add_routes(app: web.Application) -> None:
    app.router.add_get("/participants/new", show_form)
    app.router.add_post("/participants/new", add)


async def _choices(request: web.Request) -> tuple[list[str], list[admin.StaffView]]:
    email = signed_in(request).email
    assert email is not None  # noqa: S101 - signed in
    ctx = services(request)
    cohorts = [c.name for c in await admin.cohorts_run_by(ctx, email)]
    managers = [s for s in await admin.list_staff(ctx) if s.role == Role.OFFENDER_MANAGER.value]
    return cohorts, managers


async def show_form(request: web.Request, error: str | None = None) -> web.Response:
    cohorts, managers = await _choices(request)
    if not cohorts:
        raise web.HTTPNotFound(text=words(request).tr("You do not run any cohorts."))
    return render(
        request,
        "participant_new.html",
        status=400 if error else 200,
        cohorts=cohorts,
        managers=managers,
        languages=services(request).catalogs.translators(),
        error=error,
    )


async def add(request: web.Request) -> web.Response:
    cohorts, _managers = await _choices(request)
    form = await request.post()
    cohort = str(form.get("cohort", ""))
    # Facilitators add people only to the cohorts they run (the same rule as the register).
    if cohort not in cohorts:
        raise web.HTTPNotFound(text=words(request).tr("You do not run that cohort."))
    ctx = services(request)
    me = signed_in(request)
    try:
        view, code = await admin.add_participant(
            ctx,
            f"staff:{me.staff_id}",
            str(form.get("name", "")),
            cohort,
            str(form.get("offender_manager", "")),
            str(form.get("language", "")) or None,
            await admin.bot_username(ctx),
        )
    except DomainError as problem:
        return await show_form(request, words(request).error(problem))
    qr = qr_data_uri(code.link) if code.link else None
    expires = code.expires_at.astimezone(ctx.profile.zone)
    return render(
        request, "participant_code.html", participant=view, code=code, qr=qr, expires=expires
    )
