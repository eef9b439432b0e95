"""Saved replies: each role's words to start a reply from."""

from __future__ import annotations

from aiohttp import web

from bot.domain.errors import DomainError, NotFound
from bot.domain.roles import Role
from bot.services import saved_replies
from handlers.web.app import render, services, signed_in, signed_in_email, words


def add_routes(app: web.Application) -> None:
    app.router.add_get("/saved-replies", show_replies)
    app.router.add_post("/saved-replies", add_reply)
    app.router.add_post("/saved-replies/{id:[0-9]{1,18}}/remove", remove_reply)


async def show_replies(
    request: web.Request, error: str | None = None, form: dict[str, str] | None = None
) -> web.Response:
    me = signed_in(request)
    return render(
        request,
        "saved_replies.html",
        status=400 if error else 200,
        replies=await saved_replies.list_replies(services(request), signed_in_email(request)),
        roles=list(Role) if me.role is Role.ADMIN else [],
        error=error,
        form=form or {},
        max_title=saved_replies.MAX_TITLE,
        max_text=saved_replies.MAX_TEXT,
    )


async def add_reply(request: web.Request) -> web.Response:
    posted = await request.post()
    form = {key: str(posted.get(key, "")) for key in ("title", "text", "role")}
    role = form["role"]
    try:
        await saved_replies.add_reply(
            services(request),
            signed_in_email(request),
            form["title"],
            form["text"],
            Role(role) if role in Role._value2member_map_ else None,
        )
    except DomainError as problem:
        return await show_replies(request, words(request).error(problem), form)
    raise web.HTTPSeeOther("/saved-replies")


async def remove_reply(request: web.Request) -> web.Response:
    try:
        await saved_replies.remove_reply(
            services(request), signed_in_email(request), int(request.match_info["id"])
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    raise web.HTTPSeeOther("/saved-replies")
