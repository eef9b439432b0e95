"""Signing in: password, then a TOTP code (set up once with a QR code); setting a password
from a one-time link; signing out."""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import DomainError, SignInRefused
from bot.services import staff_auth
from bot.services.staff_auth import SignedIn
from handlers.web.app import (
    SIGNED_IN,
    clear_session_cookie,
    client_address,
    qr_data_uri,
    render,
    services,
    set_session_cookie,
    words,
)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/sign-in", show_sign_in)
    app.router.add_post("/sign-in", submit_sign_in)
    app.router.add_get("/sign-in/code", show_code)
    app.router.add_post("/sign-in/code", submit_code)
    app.router.add_get("/sign-in/set-up", show_set_up)
    app.router.add_post("/sign-in/set-up", submit_code)
    app.router.add_post("/sign-out", sign_out)
    app.router.add_get("/set-password/{token}", show_set_password)
    app.router.add_post("/set-password/{token}", submit_set_password)


async def _anonymous(request: web.Request) -> SignedIn:
    """The current session, or a new anonymous one (so the form has a CSRF token)."""
    current = request.get(SIGNED_IN)
    if current is None:
        current = await staff_auth.open_session(services(request))
        request[SIGNED_IN] = current
    return current


def _current(request: web.Request) -> SignedIn:
    current = request[SIGNED_IN]
    if current is None:
        raise web.HTTPSeeOther("/sign-in")
    return current


def _with_cookie(request: web.Request, response: web.Response, current: SignedIn) -> web.Response:
    set_session_cookie(request, response, current.session_token)
    return response


async def show_sign_in(request: web.Request) -> web.Response:
    current = await _anonymous(request)
    if current.complete:
        raise web.HTTPSeeOther("/")
    notice = (
        words(request).tr("Your password is set. Please sign in.")
        if "password-set" in request.query
        else None
    )
    return _with_cookie(
        request, render(request, "sign_in.html", error=None, notice=notice), current
    )


async def submit_sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    current = _current(request)
    try:
        signed = await staff_auth.sign_in(
            services(request),
            current,
            str(form.get("email", "")),
            str(form.get("password", "")),
            client_address(request),
        )
    except SignInRefused as refused:
        page = render(
            request, "sign_in.html", status=401, error=words(request).error(refused), notice=None
        )
        return page
    response = web.HTTPSeeOther("/sign-in/set-up" if signed.needs_totp_setup else "/sign-in/code")
    set_session_cookie(request, response, signed.session_token)
    raise response


async def show_code(request: web.Request) -> web.Response:
    return render(request, "code.html", error=None)


async def show_set_up(request: web.Request) -> web.Response:
    current = _current(request)
    if not current.needs_totp_setup:
        raise web.HTTPSeeOther("/sign-in/code")
    return await _set_up_page(request, current, error=None, status=200)


async def _set_up_page(
    request: web.Request, current: SignedIn, error: str | None, status: int
) -> web.Response:
    secret = await staff_auth.pending_totp_secret(services(request), current)
    qr = qr_data_uri(staff_auth.totp_setup(current, secret))
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render(request, "set_up.html", status=status, qr=qr, secret=grouped, error=error)


async def submit_code(request: web.Request) -> web.Response:
    form = await request.post()
    current = _current(request)
    try:
        await staff_auth.check_code(
            services(request), current, str(form.get("code", "")), client_address(request)
        )
    except SignInRefused as refused:
        if current.needs_totp_setup:
            return await _set_up_page(
                request, current, error=words(request).error(refused), status=401
            )
        return render(request, "code.html", status=401, error=words(request).error(refused))
    raise web.HTTPSeeOther("/")


async def sign_out(request: web.Request) -> web.Response:
    current = _current(request)
    await staff_auth.sign_out(services(request), current)
    response = web.HTTPSeeOther("/sign-in")
    clear_session_cookie(request, response)
    raise response


async def show_set_password(request: web.Request) -> web.Response:
    try:
        name = await staff_auth.password_link_owner(services(request), request.match_info["token"])
    except DomainError as error:
        return _link_not_valid(request, error)
    current = await _anonymous(request)  # only for a real link: no rows for guesses
    page = render(request, "set_password.html", name=name, error=None)
    return _with_cookie(request, page, current)


async def submit_set_password(request: web.Request) -> web.Response:
    form = await request.post()
    token = request.match_info["token"]
    password = str(form.get("password", ""))
    if password != str(form.get("repeat", "")):
        error = words(request).tr("The two passwords are not the same.")
    else:
        try:
            await staff_auth.set_password(
                services(request), token, password, client_address(request)
            )
        except DomainError as problem:
            error = words(request).error(problem)
        else:
            raise web.HTTPSeeOther("/sign-in?password-set")
    ctx = services(request)
    try:
        name = await staff_auth.password_link_owner(ctx, token)
    except DomainError as problem:
        return _link_not_valid(request, problem)
    return render(request, "set_password.html", status=400, name=name, error=error)


def _link_not_valid(request: web.Request, problem: DomainError) -> web.Response:
    title = words(request).tr("Link not valid")
    return render(
        request, "message.html", status=404, title=title, text=words(request).error(problem)
    )
