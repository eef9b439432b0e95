"""Account pages: Telegram alerts for anyone; staff accounts and the audit log for admins."""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import DomainError, NotFound
from bot.domain.roles import Role
from bot.services import admin, audit_log, staff_auth
from handlers.web.app import render, services, signed_in, words


def add_routes(app: web.Application) -> None:
    app.router.add_get("/audit", show_audit)
    app.router.add_get("/telegram", show_telegram)
    app.router.add_post("/telegram", link_telegram)
    app.router.add_get("/staff", show_staff)
    app.router.add_post("/staff", add_staff)
    app.router.add_post("/staff/{id:[0-9]{1,18}}", change_staff)


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
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    more = len(entries) == audit_log.PAGE
    return render(request, "audit.html", entries=entries, filters=filters, more=more)


# Staff accounts (admins)


async def _accounts(request: web.Request) -> list[admin.StaffAccount]:
    email = signed_in(request).email
    assert email is not None  # noqa: S101 - signed in
    try:
        return await admin.staff_accounts(services(request), email)
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None


async def show_staff(
    request: web.Request,
    error: str | None = None,
    link: tuple[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    return render(
        request,
        "staff.html",
        status=400 if error else 200,
        accounts=await _accounts(request),
        roles=list(Role),
        error=error,
        link=link,
        form=form or {},
    )


async def _password_link(request: web.Request, email: str, reset_second_factor: bool) -> str:
    ctx = services(request)
    token, _expires = await staff_auth.issue_password_link(
        ctx, _actor(request), email, reset_second_factor=reset_second_factor
    )
    base = ctx.dashboard_url or f"{request.scheme}://{request.host}"
    return f"{base.rstrip('/')}/set-password/{token}"


def _actor(request: web.Request) -> str:
    return f"staff:{signed_in(request).staff_id}"


async def add_staff(request: web.Request) -> web.Response:
    await _accounts(request)  # admins only
    posted = await request.post()
    form = {key: str(posted.get(key, "")) for key in ("email", "name", "role")}
    try:
        view = await admin.add_staff(
            services(request), _actor(request), form["email"], form["name"], form["role"], None
        )
    except DomainError as problem:
        return await show_staff(request, words(request).error(problem), form=form)
    link = await _password_link(request, view.email, False)
    return await show_staff(request, link=(view.name, link))


async def _target(request: web.Request) -> admin.StaffAccount:
    """The account in the address, for an admin; never their own (so nobody locks
    themselves out or raises their own rights)."""
    accounts = await _accounts(request)
    wanted = int(request.match_info["id"])
    account = next((a for a in accounts if a.id == wanted), None)
    if account is None:
        raise web.HTTPNotFound(text=words(request).tr("There is no such account."))
    if account.id == signed_in(request).staff_id:
        raise web.HTTPForbidden(
            text=words(request).tr("Ask another admin to change your own account.")
        )
    return account


async def change_staff(request: web.Request) -> web.Response:
    """One change to an account: role, enable/disable, or a new password link."""
    account = await _target(request)
    posted = await request.post()
    change = str(posted.get("change", ""))
    ctx, actor = services(request), _actor(request)
    try:
        if change == "role":
            await admin.set_staff_role(ctx, actor, account.email, str(posted.get("role", "")))
        elif change in ("disable", "enable"):
            await admin.set_staff_active(ctx, actor, account.email, change == "enable")
        elif change in ("password", "password_and_second_factor"):
            link = await _password_link(
                request, account.email, change == "password_and_second_factor"
            )
            return await show_staff(request, link=(account.name, link))
        else:
            return await show_staff(request, words(request).tr("Choose what to change."))
    except DomainError as problem:
        return await show_staff(request, words(request).error(problem))
    raise web.HTTPSeeOther("/staff")
