"""`companion`: run the bot, manage the database, staff, cohorts, participants and attendance.

Every command that prints data takes `--json`. Bad input exits non-zero with one clear line
and changes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import getpass
import json
import logging
import pathlib
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from bot import backup
from bot.app import Core, core_from, serve_forever, stored_bot_username
from bot.config import ConfigError, Settings, load_profile, load_settings
from bot.db.engine import make_engine
from bot.db.migrate import current_revision, head_revision, upgrade
from bot.domain.absence import Decision
from bot.domain.attendance import AttendanceSummary
from bot.domain.errors import DomainError
from bot.domain.roles import Role
from bot.domain.schedule import parse_clock_time, parse_iso_date
from bot.services import absence_review, admin, complaint_review, format_requests, staff_auth

P = ParamSpec("P")
T = TypeVar("T")

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(_to_jsonable(data), indent=2, ensure_ascii=False) if as_json else text)


def friendly_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn rule and configuration errors into one clear line and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except (DomainError, ConfigError) as error:
            raise click.ClickException(str(error)) from None

    return wrapper


def _with_core(body: Callable[[Core], Awaitable[T]]) -> T:
    """Open the configured database (which must be migrated) for one command."""

    async def main() -> T:
        settings = load_settings()
        async with core_from(settings) as core:
            await _require_migrated(core)
            return await body(core)

    return _run(main())


async def _require_migrated(core: Core) -> None:
    if await current_revision(core.engine) != head_revision():
        raise ConfigError("The database is not set up yet: run 'companion db upgrade' first.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
def main(verbose: bool) -> None:
    """Programme Companion: the participants' Telegram bot and its administration."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL, and those URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # PTB's debug log prints every outgoing text: personal data stays out of logs.
    logging.getLogger("telegram").setLevel(logging.INFO)


@main.command()
@click.option("--webhook-url", help="Public HTTPS URL Telegram posts updates to (webhook mode).")
@click.option("--listen", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8443, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--migrate/--no-migrate",
    default=True,
    show_default=True,
    help="Apply database migrations before starting.",
)
@click.option(
    "--web/--no-web",
    default=True,
    show_default=True,
    help="Also serve the staff dashboard on COMPANION_WEB_LISTEN.",
)
@friendly_errors
def run(webhook_url: str | None, listen: str, port: int, migrate: bool, web: bool) -> None:
    """Run the bot (long polling, or a webhook server with --webhook-url) and the dashboard."""
    settings = load_settings()
    settings.require_bot_token()
    if web:
        settings.web_host_port()
    load_profile(settings.profile_path)

    async def main() -> None:
        async with core_from(settings) as core:
            if migrate:
                await upgrade(core.engine)
            await _require_migrated(core)
            await serve_forever(
                core, web_dashboard=web, webhook_url=webhook_url, listen=listen, port=port
            )

    _run(main())


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@friendly_errors
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH while the bot keeps running."""
    size = backup.backup(load_settings().database_url, path)
    click.echo(f"Backed up to {path} ({size:,} bytes).")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def restore_command(path: Path) -> None:
    """Put the backup at PATH in place of the SQLite database (stop the bot first).

    The database it replaces is kept beside it. Start the bot again afterwards: it applies
    any newer migrations to the restored copy.
    """
    kept = backup.restore(load_settings().database_url, path)
    click.echo(f"Restored from {path}.")
    if kept is not None:
        click.echo(f"The database it replaced is kept at {kept}.")


@main.command("web")
@friendly_errors
def web_only() -> None:
    """Serve only the staff dashboard (on COMPANION_WEB_LISTEN, default 127.0.0.1:8080)."""
    settings = load_settings()
    settings.web_host_port()
    load_profile(settings.profile_path)

    async def main() -> None:
        async with core_from(settings) as core:
            await _require_migrated(core)
            await serve_forever(core, bot=False)

    _run(main())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@json_option
@friendly_errors
def db_upgrade(as_json: bool) -> None:
    """Create or update the database schema to the latest version."""
    settings = load_settings()

    async def main() -> str | None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    revision = _run(main())
    _emit(as_json, {"current": revision}, f"Database is at schema version {revision}.")


@db.command("current")
@json_option
@friendly_errors
def db_current(as_json: bool) -> None:
    """Show the schema version of the database."""
    settings = load_settings()

    async def main() -> str | None:
        engine = make_engine(settings.database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    revision = _run(main())
    head = head_revision()
    _emit(
        as_json,
        {"current": revision, "latest": head},
        f"Schema version {revision or 'none'} (latest is {head}).",
    )


@main.group()
def profile() -> None:
    """The programme profile (COMPANION_PROFILE)."""


@profile.command("check")
@json_option
@friendly_errors
def profile_check(as_json: bool) -> None:
    """Check the programme profile and show its main figures."""
    settings: Settings = load_settings()
    loaded = load_profile(settings.profile_path)
    _emit(
        as_json,
        loaded.model_dump(),
        f"{settings.profile_path} is valid: {loaded.programme.sessions_required} sessions, "
        f"{loaded.programme.max_catch_ups} catch-ups, bank holidays of "
        f"{loaded.calendar.country}-{loaded.calendar.subdivision}.",
    )


@main.group()
def staff() -> None:
    """Staff accounts."""


@staff.command("add")
@click.argument("email")
@click.option("--name", required=True, help="Full name, as participants will see it.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--phone", help="Phone number participants can call.")
@json_option
@friendly_errors
def staff_add(email: str, name: str, role: str, phone: str | None, as_json: bool) -> None:
    """Add a member of staff; prints a one-time link to set their dashboard password."""

    async def body(core: Core) -> tuple[admin.StaffView, str]:
        view = await admin.add_staff(core.services, _actor(), email, name, role, phone)
        token, _expires = await staff_auth.issue_password_link(core.services, _actor(), email)
        return view, f"{core.settings.web_base_url}/set-password/{token}"

    view, link = _with_core(body)
    _emit(
        as_json,
        {**dataclasses.asdict(view), "password_link": link},
        f"Added {view.name} <{view.email}> as {view.role} (id {view.id}).\n"
        f"Dashboard password link (works once, for 24 hours): {link}",
    )


@staff.command("disable")
@click.argument("email")
@friendly_errors
def staff_disable(email: str) -> None:
    """Disable an account: no sign-in, sessions ended, no notices."""
    _with_core(lambda core: admin.set_staff_active(core.services, _actor(), email, False))
    click.echo(f"Disabled {email}.")


@staff.command("enable")
@click.argument("email")
@friendly_errors
def staff_enable(email: str) -> None:
    """Enable a disabled account again."""
    _with_core(lambda core: admin.set_staff_active(core.services, _actor(), email, True))
    click.echo(f"Enabled {email}.")


@staff.command("reset-password")
@click.argument("email")
@click.option(
    "--new-second-factor", is_flag=True, help="Also make them set up the TOTP code again."
)
@json_option
@friendly_errors
def staff_reset_password(email: str, new_second_factor: bool, as_json: bool) -> None:
    """A new one-time link to set a dashboard password; their sessions end now."""

    async def body(core: Core) -> str:
        token, _expires = await staff_auth.issue_password_link(
            core.services, _actor(), email, reset_second_factor=new_second_factor
        )
        return f"{core.settings.web_base_url}/set-password/{token}"

    link = _with_core(body)
    _emit(
        as_json,
        {"email": email, "password_link": link},
        f"Password link (works once, for 24 hours): {link}",
    )


@staff.command("list")
@json_option
@friendly_errors
def staff_list(as_json: bool) -> None:
    """List staff accounts."""
    rows = _with_core(lambda core: admin.list_staff(core.services))
    _emit(as_json, rows, "\n".join(f"{s.id:>4}  {s.role:<26} {s.name} <{s.email}>" for s in rows))


@main.group()
def cohort() -> None:
    """Cohorts and their sessions."""


@cohort.command("add")
@click.argument("name")
@click.option("--first-session", required=True, help="Date of session 1, YYYY-MM-DD.")
@click.option("--time", "start_time", required=True, help="Start time, HH:MM local time.")
@click.option("--venue", help="Where the sessions are held.")
@json_option
@friendly_errors
def cohort_add(
    name: str, first_session: str, start_time: str, venue: str | None, as_json: bool
) -> None:
    """Add a cohort with the profile's number of weekly sessions.

    A session that falls on a bank holiday moves to the next working day.
    """
    first = parse_iso_date(first_session)
    at = parse_clock_time(start_time)
    view = _with_core(
        lambda core: admin.add_cohort(core.services, _actor(), name, first, at, venue)
    )
    moved = [s for s in view.sessions if s.moved_from]
    lines = [
        f"Added cohort {view.name} with {len(view.sessions)} sessions, "
        f"{view.sessions[0].starts_at:%a %d %b %Y %H:%M} to "
        f"{view.sessions[-1].starts_at:%a %d %b %Y %H:%M}."
    ]
    lines += [
        f"Session {s.number} moved from {s.moved_from} (bank holiday) to {s.starts_at:%a %d %b %Y}."
        for s in moved
    ]
    _emit(as_json, view, "\n".join(lines))


@cohort.command("list")
@json_option
@friendly_errors
def cohort_list(as_json: bool) -> None:
    """List cohorts with their first and last sessions."""
    rows = _with_core(lambda core: admin.list_cohorts(core.services))
    _emit(
        as_json,
        rows,
        "\n".join(
            f"{c.name}: {len(c.sessions)} sessions, "
            f"{c.sessions[0].starts_at:%d %b %Y} to {c.sessions[-1].starts_at:%d %b %Y}"
            for c in rows
            if c.sessions
        ),
    )


@cohort.command("add-facilitator")
@click.argument("cohort_name", metavar="COHORT")
@click.argument("email")
@friendly_errors
def cohort_add_facilitator(cohort_name: str, email: str) -> None:
    """Name a facilitator who runs this cohort (participants can complain about them)."""
    _with_core(
        lambda core: admin.add_cohort_facilitator(core.services, _actor(), cohort_name, email)
    )
    click.echo(f"{email} now runs {cohort_name}.")


@main.group()
def participant() -> None:
    """Participants and their enrolment codes."""


@participant.command("add")
@click.argument("name")
@click.option("--cohort", "cohort_name", required=True, help="Name of his cohort.")
@click.option("--offender-manager", required=True, help="Email of his Offender Manager.")
@click.option("--language", help="Language code for his messages, e.g. en.")
@json_option
@friendly_errors
def participant_add(
    name: str, cohort_name: str, offender_manager: str, language: str | None, as_json: bool
) -> None:
    """Add a participant and print his one-time enrolment code."""

    async def body(core: Core) -> tuple[admin.ParticipantView, admin.CodeView]:
        username = await stored_bot_username(core)
        return await admin.add_participant(
            core.services, _actor(), name, cohort_name, offender_manager, language, username
        )

    view, code = _with_core(body)
    _emit(
        as_json,
        {"participant": view, "enrolment": code},
        f"Added {view.name} as {view.reference}.\n" + _code_text(code),
    )


@participant.command("list")
@click.option("--cohort", "cohort_name", help="Only this cohort.")
@json_option
@friendly_errors
def participant_list(cohort_name: str | None, as_json: bool) -> None:
    """List participants with their cohort and Offender Manager."""
    rows = _with_core(lambda core: admin.list_participants(core.services, cohort_name))
    _emit(
        as_json,
        rows,
        "\n".join(_participant_line(p) for p in rows),
    )


def _participant_line(view: admin.ParticipantView) -> str:
    line = f"{view.reference}  {view.name}  ({view.cohort}; OM {view.offender_manager})"
    if view.restart_flagged:
        line += "  RESTART: missed more sessions than catch-ups allow; talk to him"
    return line


@participant.command("code")
@click.argument("reference")
@json_option
@friendly_errors
def participant_code(reference: str, as_json: bool) -> None:
    """Issue a fresh enrolment code; older unused codes stop working."""

    async def body(core: Core) -> admin.CodeView:
        username = await stored_bot_username(core)
        return await admin.issue_code(core.services, _actor(), reference, username)

    code = _with_core(body)
    _emit(as_json, code, _code_text(code))


@staff.command("telegram-code")
@click.argument("email")
@json_option
@friendly_errors
def staff_telegram_code(email: str, as_json: bool) -> None:
    """A one-time code that links a staff member's Telegram to get notices (new absence
    reports, sick notes) about their caseload."""

    async def body(core: Core) -> admin.CodeView:
        username = await stored_bot_username(core)
        return await admin.issue_staff_code(core.services, _actor(), email, username)

    code = _with_core(body)
    _emit(as_json, code, _code_text(code))


def _code_text(code: admin.CodeView) -> str:
    lines = [
        f"Enrolment code: {code.code} (works once, until {code.expires_at:%d %b %Y %H:%M} UTC)."
    ]
    if code.link:
        lines.append(f"Link: {code.link}")
    else:
        lines.append("Set COMPANION_BOT_USERNAME (or start the bot once) to print a t.me link.")
    return "\n".join(lines)


@main.group()
def attendance() -> None:
    """Group session attendance."""


@attendance.command("record")
@click.argument("reference")
@click.argument("session_number", type=int)
@click.argument("outcome", type=click.Choice(list(admin.ATTENDANCE_CHOICES)))
@json_option
@friendly_errors
def attendance_record(reference: str, session_number: int, outcome: str, as_json: bool) -> None:
    """Record whether a participant attended a session."""
    summary = _with_core(
        lambda core: admin.record_attendance(
            core.services, _actor(), reference, session_number, admin.ATTENDANCE_CHOICES[outcome]
        )
    )
    _emit(as_json, _summary_json(summary), f"Recorded. {_summary_text(summary)}")


@main.group()
def catchup() -> None:
    """Catch-up sessions."""


@catchup.command("record")
@click.argument("reference")
@click.option("--for-session", required=True, type=int, help="Number of the missed session.")
@click.option("--on", "completed_on", help="Date it was done, YYYY-MM-DD (default today).")
@json_option
@friendly_errors
def catchup_record(
    reference: str, for_session: int, completed_on: str | None, as_json: bool
) -> None:
    """Record a completed catch-up for a missed session."""
    done = parse_iso_date(completed_on) if completed_on else date.today()
    summary = _with_core(
        lambda core: admin.record_catch_up(core.services, _actor(), reference, for_session, done)
    )
    _emit(as_json, _summary_json(summary), f"Recorded. {_summary_text(summary)}")


@catchup.command("book")
@click.argument("reference")
@click.option("--for-session", required=True, type=int, help="Number of the missed session.")
@click.option("--at", "at", required=True, help="Local date and time, YYYY-MM-DD HH:MM.")
@click.option("--venue", help="Where it takes place.")
@json_option
@friendly_errors
def catchup_book(
    reference: str, for_session: int, at: str, venue: str | None, as_json: bool
) -> None:
    """Book the catch-up for a missed session; he gets reminders for it."""
    day, _, clock = at.strip().partition(" ")
    starts_at = datetime.combine(parse_iso_date(day), parse_clock_time(clock))
    booked = _with_core(
        lambda core: admin.book_catch_up(
            core.services, _actor(), reference, for_session, starts_at, venue
        )
    )
    _emit(
        as_json,
        {"reference": reference, "for_session": for_session, "starts_at": booked},
        f"Booked for {booked:%a %d %b %Y %H:%M}.",
    )


@main.group()
def absence() -> None:
    """Absence reports: list, decide, mark sick notes received."""


@absence.command("list")
@click.option("--pending", is_flag=True, help="Only those to decide or waiting for a sick note.")
@click.option("--om", "offender_manager", help="Only this Offender Manager's caseload (email).")
@json_option
@friendly_errors
def absence_list(pending: bool, offender_manager: str | None, as_json: bool) -> None:
    """Absence reports, by session date."""
    views = _with_core(
        lambda core: absence_review.list_absences(
            core.services, pending_only=pending, offender_manager=offender_manager
        )
    )
    lines = [_absence_line(v) for v in views] or ["No absence reports."]
    _emit(as_json, views, "\n".join(lines))


def _absence_line(view: absence_review.AbsenceView) -> str:
    line = (
        f"#{view.id} {view.reference} {view.first_name}: session {view.session_number} "
        f"({view.session_starts_at:%a %d %b %Y}), {view.reason}, {view.status}"
    )
    if view.sick_note_due is not None:
        if view.certificate_received_at is not None:
            note = "sick note received"
        elif view.sick_note_files:
            note = f"sick note sent in chat ({view.sick_note_files} file(s)), to check"
        else:
            note = f"sick note due {view.sick_note_due:%a %d %b %Y}"
        line += f"; {note}"
    return line


@absence.command("decide")
@click.argument("absence_id", type=int)
@click.argument("decision", type=click.Choice([d.value for d in Decision]))
@click.option("--message", help="A short message to him, sent with the decision.")
@json_option
@friendly_errors
def absence_decide(absence_id: int, decision: str, message: str | None, as_json: bool) -> None:
    """Record your decision on an absence; he is told in the chat."""
    view = _with_core(
        lambda core: absence_review.decide_absence(
            core.services, _actor(), absence_id, Decision(decision), message
        )
    )
    _emit(as_json, view, f"Decided. {_absence_line(view)}")


@absence.command("certificate-received")
@click.argument("absence_id", type=int)
@json_option
@friendly_errors
def absence_certificate_received(absence_id: int, as_json: bool) -> None:
    """Mark the sick note for an absence as received: reminders stop."""
    view = _with_core(
        lambda core: absence_review.mark_certificate_received(core.services, _actor(), absence_id)
    )
    _emit(as_json, view, f"Marked. {_absence_line(view)}")


staff_option = click.option(
    "--as",
    "viewer",
    required=True,
    envvar="COMPANION_STAFF_EMAIL",
    help="Your staff email: you see only what your role may see. [env: COMPANION_STAFF_EMAIL]",
)


@main.group()
def complaint() -> None:
    """Complaints and concerns: your queue, acknowledge, reply."""


@complaint.command("list")
@staff_option
@click.option("--queue", type=click.Choice([r.value for r in Role]), help="Only this queue.")
@click.option("--overdue", is_flag=True, help="Only those past a deadline.")
@click.option("--all", "include_closed", is_flag=True, help="Closed ones too.")
@json_option
@friendly_errors
def complaint_list(
    viewer: str, queue: str | None, overdue: bool, include_closed: bool, as_json: bool
) -> None:
    """The complaints you may see, soonest reply due first."""
    views = _with_core(
        lambda core: complaint_review.list_complaints(
            core.services,
            viewer,
            queue=Role(queue) if queue else None,
            overdue_only=overdue,
            include_closed=include_closed,
        )
    )
    lines = [_complaint_line(v) for v in views]
    lines.append(f"{len(views)} complaint(s).")
    _emit(as_json, views, "\n".join(lines))


def _complaint_line(view: complaint_review.ComplaintView) -> str:
    flag = "  OVERDUE" if view.overdue else ""
    return (
        f"{view.reference} {view.participant_reference} {view.first_name}: {view.category}, "
        f"stage {view.stage}, {view.status}, reply due {view.reply_due:%a %d %b %Y}{flag}"
    )


@complaint.command("show")
@click.argument("reference")
@staff_option
@json_option
@friendly_errors
def complaint_show(reference: str, viewer: str, as_json: bool) -> None:
    """One complaint with its whole history."""
    view = _with_core(
        lambda core: complaint_review.show_complaint(core.services, viewer, reference)
    )
    lines = [_complaint_line(view)]
    lines += [
        f"  {e.at:%d %b %Y %H:%M} {e.kind} ({e.author}): {e.text or ''}" for e in view.entries
    ]
    _emit(as_json, view, "\n".join(lines))


@complaint.command("acknowledge")
@click.argument("reference")
@staff_option
@json_option
@friendly_errors
def complaint_acknowledge(reference: str, viewer: str, as_json: bool) -> None:
    """Tell him it has been read and when he will hear back."""
    view = _with_core(lambda core: complaint_review.acknowledge(core.services, viewer, reference))
    _emit(as_json, view, f"Acknowledged. {_complaint_line(view)}")


@complaint.command("reply")
@click.argument("reference")
@click.option("--message", required=True, help="Your answer; he reads it in the chat.")
@click.option("--close", is_flag=True, help="Close it with this answer.")
@staff_option
@json_option
@friendly_errors
def complaint_reply(reference: str, message: str, close: bool, viewer: str, as_json: bool) -> None:
    """Answer a complaint; at stage 1 he can then accept it or ask for stage 2."""
    view = _with_core(
        lambda core: complaint_review.reply(core.services, viewer, reference, message, close=close)
    )
    _emit(as_json, view, f"Sent. {_complaint_line(view)}")


@main.group("format-request")
def format_request() -> None:
    """Requests for the information in another language or format."""


@format_request.command("list")
@click.option("--all", "include_done", is_flag=True, help="Done ones too.")
@json_option
@friendly_errors
def format_request_list(include_done: bool, as_json: bool) -> None:
    """Requests waiting for the Contracts Officer."""
    views = _with_core(
        lambda core: format_requests.list_requests(core.services, include_done=include_done)
    )
    lines = [_format_line(v) for v in views] or ["No format requests."]
    _emit(as_json, views, "\n".join(lines))


def _format_line(view: format_requests.FormatRequestView) -> str:
    wanted = f"{view.format} ({view.language})" if view.language else view.format
    state = f"done {view.done_at:%d %b %Y}" if view.done_at else "waiting"
    return (
        f"#{view.id} {view.reference} {view.participant_reference} {view.first_name}: "
        f"{wanted}, asked {view.requested_at:%d %b %Y}, {state}"
    )


@format_request.command("done")
@click.argument("request_id", type=int)
@click.option("--message", help="A short message to him, e.g. how he will get it.")
@json_option
@friendly_errors
def format_request_done(request_id: int, message: str | None, as_json: bool) -> None:
    """Mark a request dealt with; he is told in the chat."""
    view = _with_core(
        lambda core: format_requests.mark_done(core.services, _actor(), request_id, message)
    )
    _emit(as_json, view, f"Done. {_format_line(view)}")


def _summary_json(summary: AttendanceSummary) -> dict[str, Any]:
    return {
        **dataclasses.asdict(summary),
        "catch_ups_used": summary.catch_ups_used,
        "catch_ups_left": summary.catch_ups_left,
        "catch_ups_outstanding": summary.catch_ups_outstanding,
        "restart_required": summary.restart_required,
        "may_attend_next_session": summary.may_attend_next_session,
    }


def _summary_text(summary: AttendanceSummary) -> str:
    text = (
        f"{summary.sessions_completed} of {summary.sessions_required} sessions completed; "
        f"{summary.catch_ups_used} catch-ups used, {summary.catch_ups_left} left, "
        f"{summary.catch_ups_outstanding} to do."
    )
    if summary.restart_required:
        text += " More sessions missed than allowed: restart to be confirmed by staff."
    return text


@main.group("demo", invoke_without_command=True)
@click.option("--reset", is_flag=True, help="Start again with fresh demo data.")
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    default="var/demo.db",
    show_default=True,
    help="The demo's own SQLite file (never one with real data).",
)
@click.option("--phone-port", default=8180, show_default=True, type=int, help="Phone page port.")
@click.option("--dashboard-port", default=8181, show_default=True, type=int, help="Dashboard port.")
@click.pass_context
@friendly_errors
def demo(
    context: click.Context,
    reset: bool,
    database: pathlib.Path,
    phone_port: int,
    dashboard_port: int,
) -> None:
    """Try it all on this computer: a phone in the browser, the bot and the dashboard, with
    invented people. Nothing reaches Telegram or the internet; everything listens on
    127.0.0.1 only."""
    import contextlib
    import os
    import signal

    from bot.demo.stack import DemoOptions, banner, running_demo

    context.obj = database
    if context.invoked_subcommand is not None:
        return
    options = DemoOptions(
        database=database,
        data_dir=database.with_suffix(""),
        phone_port=phone_port,
        dashboard_port=dashboard_port,
        reset=reset,
        env=dict(os.environ),
    )

    async def serve() -> None:
        async with running_demo(options) as running:
            click.echo(await banner(running))
            await asyncio.Event().wait()

    async def run_demo() -> None:
        # Ctrl+C works while the demo data is still being written, too: an unfinished demo
        # database is started again next time.
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        click.echo("Starting the demo (the first start writes the demo data)...")
        serving = asyncio.create_task(serve())
        stopping = asyncio.create_task(stopped.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not serving.done():
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            click.echo("The demo has stopped.")
        else:
            serving.result()

    _run(run_demo())


@demo.command("codes")
@click.pass_obj
@friendly_errors
def demo_codes(database: pathlib.Path) -> None:
    """The demo staff's sign-ins with the code each authenticator would show now (only for a
    database marked as demo data)."""
    from bot.app import build_core
    from bot.demo import data
    from bot.demo.stack import DEMO_TOKEN, sqlite_url

    if not database.exists():
        raise ConfigError(f"There is no demo database at {database}: run 'companion demo'.")
    settings = load_settings(
        {
            "COMPANION_DATABASE_URL": sqlite_url(database),
            "COMPANION_DATA_DIR": str(database.with_suffix("")),
            "COMPANION_BOT_TOKEN": DEMO_TOKEN,
        }
    )

    async def codes() -> list[str]:
        core = build_core(settings)
        try:
            state = await data.database_state(core.engine)
            if state.mark is None:
                raise data.DemoRefused(f"{database} is not a demo database: it shows no codes.")
            return [
                f"{s.role}: {s.email}  code {s.code or '(set up on first sign-in)'}"
                f"  ({s.seconds_left} s left{', used' if s.used else ''})"
                for s in await data.sign_ins(core.services)
            ]
        finally:
            await core.close()

    click.echo("\n".join(_run(codes())))


if __name__ == "__main__":
    sys.exit(main())
