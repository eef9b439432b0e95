"""The queue (what is due from me today) and the item pages staff answer from."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

from aiohttp import web

from bot.domain import complaints as complaint_rules
from bot.domain.absence import Decision
from bot.domain.errors import DomainError, NotFound
from bot.domain.roles import Role, can_handle_format_requests
from bot.services import absence_review, complaint_review, format_requests, staff_files
from bot.services.context import ServiceContext
from handlers.web.app import render, services, signed_in

CASELOAD_ROLES = (Role.OFFENDER_MANAGER, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class QueueItem:
    kind: str  # "absence", "complaint", "format"
    title: str
    reference: str
    first_name: str
    status: str
    due: date | None
    due_label: str
    overdue: bool
    url: str


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


def due_label(ctx: ServiceContext, due: date | None) -> tuple[str, bool]:
    """ "due today", "due in 3 working days", "2 working days overdue"; and whether late."""
    if due is None:
        return "", False
    today = ctx.now().astimezone(ctx.profile.zone).date()
    days = ctx.profile.working_calendar().working_days_between(today, due)
    if due == today:
        return "due today", False
    if due > today:
        return ("due in 1 working day" if days == 1 else f"due in {days} working days"), False
    late = max(1, -days)
    return ("1 working day overdue" if late == 1 else f"{late} working days overdue"), True


async def show_queue(request: web.Request) -> web.Response:
    ctx, me = services(request), signed_in(request)
    assert me.email is not None and me.role is not None  # noqa: S101 - signed in
    items: list[QueueItem] = []
    if me.role in CASELOAD_ROLES:
        own = None if me.role is Role.ADMIN else me.email
        for a in await absence_review.list_absences(ctx, pending_only=True, offender_manager=own):
            # A missing sick note has a real deadline; a decision has none, so it is shown
            # by the session's date and never counted as overdue.
            waiting_for_note = a.sick_note_due is not None and a.certificate_received_at is None
            if waiting_for_note:
                due = a.sick_note_due
                label, late = due_label(ctx, due)
            else:
                due = a.session_starts_at.date()
                label, late = f"session on {due:%d %b}", False
            title = "Absence to decide" if a.status == "reported" else "Sick note to check"
            items.append(
                QueueItem(
                    "absence",
                    title,
                    f"#{a.id}",
                    a.first_name,
                    a.status,
                    due,
                    label,
                    late,
                    f"/absences/{a.id}",
                )
            )
    for c in await complaint_review.list_complaints(ctx, me.email):
        status = complaint_rules.Status(c.status)
        due = complaint_rules.current_deadline(
            status, complaint_rules.Deadlines(c.acknowledge_due, c.reply_due)
        )
        label, late = due_label(ctx, due)
        if complaint_rules.awaiting_acknowledgement(status):
            label = f"acknowledge: {label}"
        items.append(
            QueueItem(
                "complaint",
                f"Complaint, stage {c.stage}",
                c.reference,
                c.first_name,
                c.status,
                c.reply_due,
                label,
                late or c.overdue,
                f"/complaints/{c.reference}",
            )
        )
    if can_handle_format_requests(me.role):
        for f in await format_requests.list_requests(ctx):
            items.append(
                QueueItem(
                    "format",
                    "Another language or format",
                    f.reference,
                    f.first_name,
                    "waiting",
                    None,
                    "",
                    False,
                    f"/format-requests/{f.id}",
                )
            )
    kind = request.query.get("type")
    if kind:
        items = [i for i in items if i.kind == kind]
    if "overdue" in request.query:
        items = [i for i in items if i.overdue]
    items.sort(key=lambda i: (i.due is None, i.due or date.max, i.reference))
    counts = {
        "all": len(items),
        "overdue": sum(1 for i in items if i.overdue),
    }
    return render(
        request,
        "queue.html",
        items=items,
        counts=counts,
        kind=kind or "",
        overdue_only="overdue" in request.query,
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
        raise web.HTTPNotFound(text=str(missing)) from None
    except DomainError as problem:
        return await show_again(request, str(problem))
    raise web.HTTPSeeOther(then)


def _email(request: web.Request) -> str:
    email = signed_in(request).email
    assert email is not None  # noqa: S101 - signed in
    return email


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
        raise web.HTTPNotFound(text=str(missing)) from None
    label, late = due_label(services(request), view.sick_note_due)
    return render(
        request,
        "absence.html",
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
        return await show_absence(request, "Choose acceptable or not acceptable.")
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
        services(request), _email(request), _absence_id(request), str(form.get("note", ""))
    )
    return await _act(request, action, f"/absences/{_absence_id(request)}", show_absence)


async def complaint_note(request: web.Request) -> web.Response:
    reference = request.match_info["reference"]
    form = await request.post()
    action = complaint_review.add_note(
        services(request), _email(request), reference, str(form.get("note", ""))
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
        raise web.HTTPNotFound(text=str(missing)) from None
    label, late = due_label(services(request), view.reply_due)
    return render(
        request,
        "complaint.html",
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
    action = complaint_review.acknowledge(services(request), _email(request), reference)
    return await _act(request, action, f"/complaints/{reference}", show_complaint)


async def reply_complaint(request: web.Request) -> web.Response:
    reference = request.match_info["reference"]
    form = await request.post()
    action = complaint_review.reply(
        services(request),
        _email(request),
        reference,
        str(form.get("message", "")),
        close=form.get("close") == "yes",
    )
    return await _act(request, action, f"/complaints/{reference}", show_complaint)


async def show_format_request(request: web.Request, error: str | None = None) -> web.Response:
    me = signed_in(request)
    if me.role is None or not can_handle_format_requests(me.role):
        raise web.HTTPNotFound(text="There is no such request in your queue.")
    try:
        item = await format_requests.show_request(
            services(request), f"staff:{me.staff_id}", int(request.match_info["id"])
        )
    except NotFound:
        raise web.HTTPNotFound(text="There is no such request in your queue.") from None
    return render(
        request, "format_request.html", status=400 if error else 200, item=item, error=error
    )


async def format_request_done(request: web.Request) -> web.Response:
    me = signed_in(request)
    if me.role is None or not can_handle_format_requests(me.role):
        raise web.HTTPNotFound(text="There is no such request in your queue.")
    form = await request.post()
    request_id = int(request.match_info["id"])
    action = format_requests.mark_done(
        services(request), f"staff:{me.staff_id}", request_id, str(form.get("message", ""))
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
        raise web.HTTPNotFound(text=str(missing)) from None
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
