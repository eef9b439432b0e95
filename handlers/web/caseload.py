"""A participant's record: progress, phone link, a new enrolment code, catch-up bookings."""

from __future__ import annotations

from datetime import date, datetime, time

from aiohttp import web

from bot.domain.errors import DomainError, NotFound
from bot.services import caseload
from handlers.web.app import qr_data_uri, render, services, signed_in_email, words

REFERENCE = "{reference:P-[A-Za-z0-9]{1,12}}"


def add_routes(app: web.Application) -> None:
    app.router.add_get("/participants", show_people)
    app.router.add_get(f"/participants/{REFERENCE}", show_record)
    app.router.add_post(f"/participants/{REFERENCE}/unlink", unlink_phone)
    app.router.add_post(f"/participants/{REFERENCE}/code", new_code)
    app.router.add_post(f"/participants/{REFERENCE}/language", set_language)
    app.router.add_post(f"/participants/{REFERENCE}/catch-ups", book_catch_up)


def _reference(request: web.Request) -> str:
    return request.match_info["reference"]


async def show_people(request: web.Request) -> web.Response:
    people = await caseload.my_participants(services(request), signed_in_email(request))
    return render(request, "participants.html", people=people)


async def show_record(
    request: web.Request,
    error: str | None = None,
    notice: str | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    try:
        record = await caseload.show_participant(
            services(request), signed_in_email(request), _reference(request)
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    return render(
        request,
        "participant.html",
        status=400 if error else 200,
        record=record,
        languages=services(request).catalogs.translators(),
        error=error,
        notice=notice,
        form=form or {},
    )


async def unlink_phone(request: web.Request) -> web.Response:
    try:
        await caseload.revoke_phone_link(
            services(request), signed_in_email(request), _reference(request)
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    except DomainError as problem:
        return await show_record(request, words(request).error(problem))
    return await show_record(
        request,
        notice=words(request).tr(
            "His phone is no longer linked. Give him a new code to link again."
        ),
    )


async def set_language(request: web.Request) -> web.Response:
    posted = await request.post()
    try:
        await caseload.set_language(
            services(request),
            signed_in_email(request),
            _reference(request),
            str(posted.get("language", "")),
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    except DomainError as problem:
        return await show_record(request, words(request).error(problem))
    return await show_record(
        request, notice=words(request).tr("Saved. Everything he gets is now in that language.")
    )


async def new_code(request: web.Request) -> web.Response:
    ctx = services(request)
    try:
        code = await caseload.new_code(ctx, signed_in_email(request), _reference(request))
        record = await caseload.show_participant(ctx, signed_in_email(request), _reference(request))
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    return render(
        request,
        "participant_code.html",
        participant={"name": record.first_name, "reference": record.reference},
        code=code,
        qr=qr_data_uri(code.link) if code.link else None,
        expires=code.expires_at.astimezone(ctx.profile.zone),
    )


async def book_catch_up(request: web.Request) -> web.Response:
    posted = await request.post()
    form = {key: str(posted.get(key, "")) for key in ("session", "day", "time", "venue")}
    try:
        starts_at = datetime.combine(
            date.fromisoformat(form["day"]), time.fromisoformat(form["time"])
        )
        number = int(form["session"])
    except ValueError:
        return await show_record(
            request, words(request).tr("Choose the session, a day and a time."), form=form
        )
    try:
        local = await caseload.book_catch_up(
            services(request),
            signed_in_email(request),
            _reference(request),
            number,
            starts_at,
            form["venue"].strip() or None,
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    except DomainError as problem:
        return await show_record(request, words(request).error(problem), form=form)
    t = words(request)
    return await show_record(
        request,
        notice=t.tr(
            "Catch-up for session %(number)s booked for %(when)s. He will get reminders for it.",
            number=number,
            when=t.day_at(local),
        ),
    )
