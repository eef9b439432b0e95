"""The queue (what is due from me today) and the item pages staff answer from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.domain import complaints as complaint_rules
from bot.domain.absence import Decision
from bot.domain.errors import DomainError, InvalidInput, NotFound
from bot.domain.queue import Kind, Task
from bot.services import (
    absence_review,
    complaint_review,
    format_requests,
    queue,
    saved_replies,
    staff_files,
)
from bot.services.context import ServiceContext
from handlers.web.app import render, services, signed_in, signed_in_email, words
from handlers.web.i18n import Words
from handlers.web.labels import Labels


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", show_queue)
    app.router.add_get("/absences/{id:[0-9]{1,18}}", show_absence)
    app.router.add_post("/absences/{id:[0-9]{1,18}}/decide", decide_absence)
    app.router.add_post("/absences/{id:[0-9]{1,18}}/sick-note", sick_note_received)
    app.router.add_post("/absences/{id:[0-9]{1,18}}/notes", absence_note)
    app.router.add_get("/complaints/{reference}", show_complaint)
    app.router.add_post("/complaints/{reference}/acknowledge", acknowledge_complaint)
    app.router.add_post("/complaints/{reference}/reply", reply_complaint)
    app.router.add_post("/complaints/{reference}/notes", complaint_note)
    app.router.add_get("/format-requests/{id:[0-9]{1,18}}", show_format_request)
    app.router.add_post("/format-requests/{id:[0-9]{1,18}}/done", format_request_done)
    app.router.add_get("/files/{id:[0-9]{1,18}}", download_file)
    app.router.add_post("/absences/{id:[0-9]{1,18}}/assign", assign_absence)
    app.router.add_post("/complaints/{reference}/assign", assign_complaint)
    app.router.add_post("/format-requests/{id:[0-9]{1,18}}/assign", assign_format_request)


def due_label(ctx: ServiceContext, t: Words, due: date | None) -> tuple[str, bool]:
    """ "due today", "due in 3 working days", "2 working days overdue"; and whether late."""
    if due is None:
        return "", False
    today = ctx.now().astimezone(ctx.profile.zone).date()
    days = ctx.profile.working_calendar().working_days_between(today, due)
    if due == today:
        return t.tr("due today"), False
    if due > today:
        return t.trn("due in %(num)s working day", "due in %(num)s working days", days), False
    late = max(1, -days)
    return t.trn("%(num)s working day overdue", "%(num)s working days overdue", late), True


def row_due_label(ctx: ServiceContext, t: Words, row: queue.Row) -> str:
    if row.deadline:
        label, _late = due_label(ctx, t, row.due)
        if row.task is Task.ACKNOWLEDGE:
            return t.tr("acknowledge: %(due)s", due=label)
        return label
    if row.kind is Kind.ABSENCE:
        return t.tr("session on %(day)s", day=t.short_date(row.due))
    return t.tr("since %(day)s", day=t.short_date(row.due))


def _filters(request: web.Request) -> queue.Filters:
    """The queue's filters from the address; anything unknown is simply not applied."""
    query = request.query
    kind = query.get("type", "")
    status = query.get("status", "")
    assignee = query.get("assignee", "")
    return queue.Filters(
        kind=Kind(kind) if kind in Kind._value2member_map_ else None,
        status=status if status in STATUS_CHOICES else None,
        assignee=queue.Assignee(assignee)
        if assignee in queue.Assignee._value2member_map_
        else queue.Assignee.ANYONE,
        overdue=query.get("overdue") in ("1", "on", ""),
    )


STATUS_CHOICES = (*(task.value for task in Task), queue.CLOSED)


def status_choices(labels: Labels) -> dict[str, str]:
    """The status filter's choices: each task, and closed items."""
    return {task.value: labels.task(task) for task in Task} | {queue.CLOSED: labels.task(None)}


async def show_queue(request: web.Request) -> web.Response:
    ctx, me, t = services(request), signed_in(request), words(request)
    assert me.email is not None  # noqa: S101 - signed in
    labels = Labels(t)
    filters = _filters(request)
    try:
        page = await queue.list_queue(
            ctx,
            me.email,
            filters,
            after=queue.Cursor.parse(request.query.get("after")),
            before=queue.Cursor.parse(request.query.get("before")),
        )
    except InvalidInput:
        raise web.HTTPBadRequest(text=t.tr("That page link is not valid.")) from None
    params = {
        "type": filters.kind.value if filters.kind else "",
        "status": str(filters.status or ""),
        "assignee": "" if filters.assignee is queue.Assignee.ANYONE else filters.assignee.value,
    }
    if filters.overdue:
        params["overdue"] = "1"
    kept = {k: v for k, v in params.items() if v}

    def link(**changes: str) -> str:
        merged = {k: v for k, v in (kept | changes).items() if v}
        return "/?" + urlencode(merged) if merged else "/"

    return render(
        request,
        "queue.html",
        page=page,
        rows=[(row, labels.row(row), row_due_label(ctx, t, row)) for row in page.rows],
        filters=filters,
        statuses=status_choices(labels),
        kinds=labels.kinds(),
        link=link,
        next_link=link(after=str(page.next)) if page.next else None,
        previous_link=link(before=str(page.previous)) if page.previous else None,
    )


async def _act(
    request: web.Request,
    action: Awaitable[object],
    then: str,
    show_again: Callable[[web.Request, str], Awaitable[web.Response]],
) -> web.Response:
    """Run a service action: on success go to `then`; a rule it breaks is shown on the item
    page (400); an item the person may not see is a 404, as if it did not exist."""
    try:
        await action
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    except DomainError as problem:
        return await show_again(request, words(request).error(problem))
    raise web.HTTPSeeOther(then)


async def _item_tools(request: web.Request, kind: Kind, key: str, path: str) -> dict[str, Any]:
    """What every item page offers: who has it and who could, and the saved replies
    (`?reply=ID` puts one in the message box, so this works without JavaScript)."""
    ctx, email = services(request), signed_in_email(request)
    replies = await saved_replies.list_replies(ctx, email)
    chosen = request.query.get("reply", "")
    return {
        "assignment": await queue.assignment(ctx, email, kind, key),
        "assign_action": f"{path}/assign",
        "saved_replies": replies,
        "prefill": next((r.text for r in replies if str(r.id) == chosen), ""),
    }


async def _assign(
    request: web.Request,
    kind: Kind,
    key: str,
    path: str,
    show_again: Callable[[web.Request, str], Awaitable[web.Response]],
) -> web.Response:
    form = await request.post()
    chosen = str(form.get("assignee", ""))
    try:
        still_mine = await queue.assign(
            services(request),
            signed_in_email(request),
            kind,
            key,
            int(chosen) if chosen.isdigit() else None,
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    except DomainError as problem:
        return await show_again(request, words(request).error(problem))
    # Handed on to someone else's eyes only: back to the queue, as it is no longer here.
    raise web.HTTPSeeOther(path if still_mine else "/")


async def assign_absence(request: web.Request) -> web.Response:
    key = str(_absence_id(request))
    return await _assign(request, Kind.ABSENCE, key, f"/absences/{key}", show_absence)


async def assign_complaint(request: web.Request) -> web.Response:
    key = request.match_info["reference"]
    return await _assign(request, Kind.COMPLAINT, key, f"/complaints/{key}", show_complaint)


async def assign_format_request(request: web.Request) -> web.Response:
    key = request.match_info["id"]
    return await _assign(request, Kind.FORMAT, key, f"/format-requests/{key}", show_format_request)


def _absence_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def show_absence(request: web.Request, error: str | None = None) -> web.Response:
    me = signed_in(request)
    assert me.email is not None  # noqa: S101 - signed in
    try:
        view, files = await absence_review.show_absence(
            services(request), me.email, _absence_id(request)
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    label, late = due_label(services(request), words(request), view.sick_note_due)
    path = f"/absences/{view.id}"
    return render(
        request,
        "absence.html",
        **await _item_tools(request, Kind.ABSENCE, str(view.id), path),
        status=400 if error else 200,
        item=view,
        files=files,
        due_label=label,
        late=late,
        error=error,
    )


async def decide_absence(request: web.Request) -> web.Response:
    me = signed_in(request)
    form = await request.post()
    try:
        decision = Decision(str(form.get("decision", "")))
    except ValueError:
        return await show_absence(
            request, words(request).tr("Choose acceptable or not acceptable.")
        )
    action = absence_review.decide_absence(
        services(request),
        f"staff:{me.staff_id}",
        _absence_id(request),
        decision,
        str(form.get("message", "")),
        viewer_email=me.email,
    )
    return await _act(request, action, f"/absences/{_absence_id(request)}", show_absence)


async def sick_note_received(request: web.Request) -> web.Response:
    me = signed_in(request)
    action = absence_review.mark_certificate_received(
        services(request), f"staff:{me.staff_id}", _absence_id(request), viewer_email=me.email
    )
    return await _act(request, action, f"/absences/{_absence_id(request)}", show_absence)


async def absence_note(request: web.Request) -> web.Response:
    form = await request.post()
    action = absence_review.add_note(
        services(request), signed_in_email(request), _absence_id(request), str(form.get("note", ""))
    )
    return await _act(request, action, f"/absences/{_absence_id(request)}", show_absence)


async def complaint_note(request: web.Request) -> web.Response:
    reference = request.match_info["reference"]
    form = await request.post()
    action = complaint_review.add_note(
        services(request), signed_in_email(request), reference, str(form.get("note", ""))
    )
    return await _act(request, action, f"/complaints/{reference}", show_complaint)


async def show_complaint(request: web.Request, error: str | None = None) -> web.Response:
    me = signed_in(request)
    assert me.email is not None  # noqa: S101 - signed in
    try:
        view = await complaint_review.show_complaint(
            services(request), me.email, request.match_info["reference"]
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    label, late = due_label(services(request), words(request), view.reply_due)
    path = f"/complaints/{view.reference}"
    return render(
        request,
        "complaint.html",
        **await _item_tools(request, Kind.COMPLAINT, view.reference, path),
        status=400 if error else 200,
        item=view,
        due_label=label,
        late=late or view.overdue,
        can_acknowledge=complaint_rules.awaiting_acknowledgement(
            complaint_rules.Status(view.status)
        ),
        error=error,
    )


async def acknowledge_complaint(request: web.Request) -> web.Response:
    reference = request.match_info["reference"]
    action = complaint_review.acknowledge(services(request), signed_in_email(request), reference)
    return await _act(request, action, f"/complaints/{reference}", show_complaint)


async def reply_complaint(request: web.Request) -> web.Response:
    reference = request.match_info["reference"]
    form = await request.post()
    action = complaint_review.reply(
        services(request),
        signed_in_email(request),
        reference,
        str(form.get("message", "")),
        close=form.get("close") == "yes",
    )
    return await _act(request, action, f"/complaints/{reference}", show_complaint)


async def show_format_request(request: web.Request, error: str | None = None) -> web.Response:
    me = signed_in(request)
    try:
        item = await format_requests.show_request(
            services(request),
            f"staff:{me.staff_id}",
            int(request.match_info["id"]),
            viewer_email=me.email,
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    path = f"/format-requests/{item.id}"
    return render(
        request,
        "format_request.html",
        status=400 if error else 200,
        item=item,
        error=error,
        **await _item_tools(request, Kind.FORMAT, str(item.id), path),
    )


async def format_request_done(request: web.Request) -> web.Response:
    me = signed_in(request)
    form = await request.post()
    request_id = int(request.match_info["id"])
    action = format_requests.mark_done(
        services(request),
        f"staff:{me.staff_id}",
        request_id,
        str(form.get("message", "")),
        viewer_email=me.email,
    )
    return await _act(request, action, f"/format-requests/{request_id}", show_format_request)


async def download_file(request: web.Request) -> web.Response:
    me = signed_in(request)
    assert me.email is not None  # noqa: S101 - signed in
    try:
        file = await staff_files.download(
            services(request), me.email, int(request.match_info["id"])
        )
    except NotFound as missing:
        raise web.HTTPNotFound(text=words(request).error(missing)) from None
    # RFC 6266: an ASCII name for old clients, the real one percent-encoded for the rest.
    ascii_name = "".join(
        ch for ch in file.file_name if (ch.isascii() and ch.isalnum()) or ch in "._-"
    )
    disposition = f"attachment; filename=\"{ascii_name or 'file'}\"; filename*=UTF-8''" + quote(
        file.file_name, safe=""
    )
    return web.Response(
        body=file.content,
        content_type=file.mime_type,
        headers={"Content-Disposition": disposition},
    )
