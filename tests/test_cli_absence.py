"""The staff commands for absences, catch-up bookings and staff Telegram codes.

Absence reports come from participants through the bot, so these tests put them in the
database directly, for participants and sessions the CLI created.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import core_from
from bot.cli import main
from bot.config import EXAMPLE_PROFILE, load_profile, load_settings
from bot.db.models import (
    AbsenceReport,
    Attendance,
    AuditEntry,
    CatchUpBooking,
    EnrolmentCode,
    OutboxMessage,
    Participant,
    ScheduledSession,
    Staff,
)
from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.attendance import Outcome
from tests.test_cli import _setup, run

T = TypeVar("T")
LONDON = ZoneInfo("Europe/London")
PROFILE = load_profile(EXAMPLE_PROFILE)
# _setup's cohort: weekly on Thursdays at 18:00 from 3 December 2026.
FIRST_SESSION = date(2026, 12, 3)


def fail(cli: CliRunner, *args: str) -> str:
    """Run a command that must be refused; return its one line."""
    result = cli.invoke(main, list(args))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def ok(cli: CliRunner, *args: str) -> Result:
    result = run(cli, *args)
    assert result.exit_code == 0, result.output
    return result


def in_db(body: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `body` in one session on the database the CLI uses, and commit."""

    async def go() -> T:
        async with core_from(load_settings()) as core, core.services.uow() as session:
            value = await body(session)
            await session.commit()
            return value

    return asyncio.run(go())


def add_report(
    reference: str,
    number: int,
    reason: Reason,
    *,
    status: AbsenceStatus = AbsenceStatus.REPORTED,
    details: str | None = None,
) -> int:
    """An absence report as the bot would write it; illness gets a sick-note due date."""

    async def body(session: AsyncSession) -> int:
        participant = await session.scalar(
            select(Participant).where(Participant.reference == reference)
        )
        assert participant is not None
        scheduled = await session.scalar(
            select(ScheduledSession).where(
                ScheduledSession.cohort_id == participant.cohort_id,
                ScheduledSession.number == number,
            )
        )
        assert scheduled is not None
        due = None
        if reason is Reason.ILL:
            local_day = scheduled.starts_at.astimezone(LONDON).date()
            due = PROFILE.working_calendar().deadline(
                local_day, PROFILE.programme.self_cert_working_days
            )
        report = AbsenceReport(
            participant_id=participant.id,
            session_id=scheduled.id,
            reason=reason,
            details=details,
            status=status,
            reported_at=datetime.now(UTC),
            self_certificate_due=due,
        )
        session.add(report)
        await session.flush()
        return report.id

    return in_db(body)


@dataclass(frozen=True)
class Audited:
    action: str
    subject: str | None
    details: dict[str, Any] | None


def audit_log() -> list[Audited]:
    async def body(session: AsyncSession) -> list[Audited]:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [Audited(r.action, r.subject, r.details) for r in rows]

    return in_db(body)


def outcome_of(reference: str, number: int) -> Outcome | None:
    async def body(session: AsyncSession) -> Outcome | None:
        return await session.scalar(
            select(Attendance.outcome)
            .join(Participant, Participant.id == Attendance.participant_id)
            .join(ScheduledSession, ScheduledSession.id == Attendance.session_id)
            .where(Participant.reference == reference, ScheduledSession.number == number)
        )

    return in_db(body)


def report_row(absence_id: int) -> AbsenceReport:
    async def body(session: AsyncSession) -> AbsenceReport:
        report = await session.get(AbsenceReport, absence_id)
        assert report is not None
        return report

    return in_db(body)


def outbox_count() -> int:
    async def body(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)

    return in_db(body)


def add_second_participant(cli: CliRunner) -> str:
    ok(
        cli,
        "staff",
        "add",
        "lee@example.org",
        "--name",
        "Lee Fictional",
        "--role",
        "offender_manager",
    )
    result = ok(
        cli,
        "participant",
        "add",
        "Jo Example",
        "--cohort",
        "Thursday A",
        "--offender-manager",
        "lee@example.org",
        "--json",
    )
    reference: str = json.loads(result.output)["participant"]["reference"]
    return reference


def session_day(number: int) -> str:
    return f"{FIRST_SESSION + timedelta(weeks=number - 1):%a %d %b %Y}"


def sick_note_due(number: int) -> date:
    return PROFILE.working_calendar().deadline(
        FIRST_SESSION + timedelta(weeks=number - 1), PROFILE.programme.self_cert_working_days
    )


# --- staff telegram-code -------------------------------------------------------------------


def test_staff_telegram_code_issues_a_code_and_audits_it(cli: CliRunner) -> None:
    _setup(cli)
    text = ok(cli, "staff", "telegram-code", "om@example.org").output
    assert text.startswith("Enrolment code: ")
    data = json.loads(ok(cli, "staff", "telegram-code", "OM@example.org", "--json").output)
    assert data["reference"] == "om@example.org"
    assert len(data["code"]) == 11
    assert data["code"] not in text  # a fresh code each time
    expires = datetime.fromisoformat(data["expires_at"])
    days = PROFILE.programme.enrolment_code_days
    assert abs(expires - (datetime.now(UTC) + timedelta(days=days))) < timedelta(minutes=5)
    assert data["link"] is None

    async def codes(session: AsyncSession) -> list[tuple[int | None, bool]]:
        staff_id = await session.scalar(select(Staff.id).where(Staff.email == "om@example.org"))
        rows = await session.scalars(
            select(EnrolmentCode).where(EnrolmentCode.staff_id == staff_id)
        )
        return [(r.participant_id, r.revoked_at is None) for r in rows]

    # The second code replaces the first.
    assert sorted(in_db(codes), key=lambda c: c[1]) == [(None, False), (None, True)]
    staff_codes = [a for a in audit_log() if a.action == "staff.telegram_code"]
    assert len(staff_codes) == 2
    assert {a.subject for a in staff_codes} == {"staff:1"}


def test_staff_telegram_code_with_a_bot_username_prints_a_link(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(cli)
    monkeypatch.setenv("COMPANION_BOT_USERNAME", "companion_example_bot")
    data = json.loads(ok(cli, "staff", "telegram-code", "om@example.org", "--json").output)
    assert data["link"] == (
        f"https://t.me/companion_example_bot?start={data['code'].replace('-', '')}"
    )


def test_staff_telegram_code_for_an_unknown_email_exits_1(cli: CliRunner) -> None:
    _setup(cli)
    before = audit_log()
    line = fail(cli, "staff", "telegram-code", "nobody@example.org")
    assert line == "Error: There is no member of staff with email nobody@example.org."
    assert audit_log() == before


# --- catchup book --------------------------------------------------------------------------


def _future(days: int = 10, clock: str = "14:00") -> tuple[str, datetime]:
    day = date.today() + timedelta(days=days)
    text = f"{day.isoformat()} {clock}"
    return text, datetime.fromisoformat(f"{day.isoformat()}T{clock}").replace(tzinfo=LONDON)


def test_catchup_book_needs_a_recorded_miss(cli: CliRunner) -> None:
    reference = _setup(cli)
    at, _ = _future()
    before = audit_log()
    line = fail(cli, "catchup", "book", reference, "--for-session", "1", "--at", at)
    assert line == "Error: Session 1 has no attendance recorded, so it cannot be caught up."
    ok(cli, "attendance", "record", reference, "2", "attended")
    line = fail(cli, "catchup", "book", reference, "--for-session", "2", "--at", at)
    assert line == "Error: Session 2 was attended, so it needs no catch-up."
    assert [a.action for a in audit_log()[len(before) :]] == ["attendance.record"]


def test_catchup_book_after_a_miss_prints_the_local_time_and_audits(cli: CliRunner) -> None:
    reference = _setup(cli)
    ok(cli, "attendance", "record", reference, "1", "missed")
    at, local = _future()
    result = ok(
        cli, "catchup", "book", reference, "--for-session", "1", "--at", at, "--venue", "R3"
    )
    assert result.output.strip() == f"Booked for {local:%a %d %b %Y} 14:00."

    async def bookings(session: AsyncSession) -> list[tuple[datetime, str | None]]:
        rows = await session.scalars(select(CatchUpBooking))
        return [(b.starts_at, b.venue) for b in rows]

    assert in_db(bookings) == [(local.astimezone(UTC), "R3")]
    entry = audit_log()[-1]
    assert entry.action == "catchup.book"
    assert entry.details == {"session": 1, "starts_at": local.isoformat()}

    # Booking again moves it, and says so in JSON with the local offset.
    at, moved = _future(days=12, clock="09:30")
    data = json.loads(
        ok(cli, "catchup", "book", reference, "--for-session", "1", "--at", at, "--json").output
    )
    assert data["reference"] == reference
    assert data["for_session"] == 1
    assert datetime.fromisoformat(data["starts_at"]) == moved
    assert data["starts_at"] == moved.isoformat()
    assert in_db(bookings) == [(moved.astimezone(UTC), None)]
    assert [a.action for a in audit_log()].count("catchup.book") == 2


@pytest.mark.parametrize("ago", [timedelta(days=2), timedelta(minutes=2)])
def test_catchup_book_in_the_past_exits_1(cli: CliRunner, ago: timedelta) -> None:
    reference = _setup(cli)
    ok(cli, "attendance", "record", reference, "1", "missed")
    at = f"{datetime.now(LONDON) - ago:%Y-%m-%d %H:%M}"
    before = audit_log()
    line = fail(cli, "catchup", "book", reference, "--for-session", "1", "--at", at)
    assert line == "Error: A catch-up can only be booked for a time still to come."
    assert audit_log() == before


def test_catchup_book_with_a_bad_time_exits_1(cli: CliRunner) -> None:
    reference = _setup(cli)
    ok(cli, "attendance", "record", reference, "1", "missed")
    day = (date.today() + timedelta(days=3)).isoformat()
    line = fail(cli, "catchup", "book", reference, "--for-session", "1", "--at", day)
    assert line == "Error: '' is not a time in the form HH:MM (24-hour clock)."


def test_catchup_book_refuses_the_hour_the_clocks_skip(cli: CliRunner) -> None:
    reference = _setup(cli)
    ok(cli, "attendance", "record", reference, "1", "missed")
    # The next last Sunday of March, when 01:00-02:00 does not exist in London.
    year = date.today().year + (date.today() >= date(date.today().year, 3, 25))
    day = max(date(year, 3, d) for d in range(25, 32) if date(year, 3, d).weekday() == 6)
    line = fail(cli, "catchup", "book", reference, "--for-session", "1", "--at", f"{day} 01:30")
    assert line == (
        f"Error: {day} 01:30 does not exist in Europe/London: the clocks go forward then. "
        "Choose another time."
    )


# --- absence list --------------------------------------------------------------------------


def test_absence_list_with_no_reports(cli: CliRunner) -> None:
    _setup(cli)
    assert ok(cli, "absence", "list").output.strip() == "No absence reports."
    assert json.loads(ok(cli, "absence", "list", "--json").output) == []


def test_absence_list_shows_reports_and_filters_them(cli: CliRunner) -> None:
    sam = _setup(cli)
    jo = add_second_participant(cli)
    ill = add_report(sam, 1, Reason.ILL)
    work = add_report(sam, 2, Reason.WORK, details="A late shift")
    family = add_report(jo, 1, Reason.FAMILY_EMERGENCY, status=AbsenceStatus.ACCEPTABLE)
    withdrawn = add_report(jo, 3, Reason.ILL, status=AbsenceStatus.WITHDRAWN)

    lines = ok(cli, "absence", "list").output.strip().splitlines()
    assert lines == [
        f"#{ill} {sam} Sam Example: session 1 ({session_day(1)}), ill, reported; "
        f"sick note due {sick_note_due(1):%a %d %b %Y}",
        f"#{family} {jo} Jo Example: session 1 ({session_day(1)}), family, acceptable",
        f"#{work} {sam} Sam Example: session 2 ({session_day(2)}), work, reported",
        f"#{withdrawn} {jo} Jo Example: session 3 ({session_day(3)}), ill, withdrawn; "
        f"sick note due {sick_note_due(3):%a %d %b %Y}",
    ]

    data = json.loads(ok(cli, "absence", "list", "--json").output)
    assert [v["id"] for v in data] == [ill, family, work, withdrawn]
    first = data[0]
    assert first["reference"] == sam
    assert first["offender_manager"] == "om@example.org"
    assert first["session_number"] == 1
    assert datetime.fromisoformat(first["session_starts_at"]) == datetime(
        2026, 12, 3, 18, tzinfo=LONDON
    )
    assert first["reason"] == "ill"
    assert first["status"] == "reported"
    assert first["sick_note_due"] == sick_note_due(1).isoformat()
    assert first["sick_note_files"] == 0
    assert first["certificate_received_at"] is None
    assert data[2]["details"] == "A late shift"
    assert data[2]["sick_note_due"] is None

    pending = json.loads(ok(cli, "absence", "list", "--pending", "--json").output)
    assert [v["id"] for v in pending] == [ill, work]
    text = ok(cli, "absence", "list", "--pending").output.strip().splitlines()
    assert [line.split()[0] for line in text] == [f"#{ill}", f"#{work}"]

    lees = json.loads(ok(cli, "absence", "list", "--om", "lee@example.org", "--json").output)
    assert [v["id"] for v in lees] == [family, withdrawn]
    danas = json.loads(ok(cli, "absence", "list", "--om", " OM@Example.org ", "--json").output)
    assert [v["id"] for v in danas] == [ill, work]
    both = ["absence", "list", "--pending", "--om", "lee@example.org"]
    assert ok(cli, *both).output.strip() == "No absence reports."
    assert json.loads(ok(cli, *both, "--json").output) == []
    nobody = json.loads(ok(cli, "absence", "list", "--om", "x@example.org", "--json").output)
    assert nobody == []


def test_a_received_sick_note_is_no_longer_pending(cli: CliRunner) -> None:
    sam = _setup(cli)
    ill = add_report(sam, 1, Reason.ILL, status=AbsenceStatus.ACCEPTABLE)
    pending = json.loads(ok(cli, "absence", "list", "--pending", "--json").output)
    assert [v["id"] for v in pending] == [ill]  # decided, but the sick note is still due
    ok(cli, "absence", "certificate-received", str(ill))
    assert json.loads(ok(cli, "absence", "list", "--pending", "--json").output) == []
    line = ok(cli, "absence", "list").output.strip()
    assert line.endswith("acceptable; sick note received")


# --- absence decide ------------------------------------------------------------------------


def test_decide_acceptable_records_the_outcome_and_is_final(cli: CliRunner) -> None:
    sam = _setup(cli)
    ill = add_report(sam, 1, Reason.ILL)
    assert outcome_of(sam, 1) is None
    result = ok(cli, "absence", "decide", str(ill), "acceptable")
    assert result.output.strip() == (
        f"Decided. #{ill} {sam} Sam Example: session 1 ({session_day(1)}), ill, acceptable; "
        f"sick note due {sick_note_due(1):%a %d %b %Y}"
    )
    assert outcome_of(sam, 1) is Outcome.ABSENT_ACCEPTABLE
    report = report_row(ill)
    assert report.status is AbsenceStatus.ACCEPTABLE
    assert report.decided_by is not None and report.decided_by.startswith("cli:")
    assert report.decided_at is not None
    assert report.decision_message is None
    entry = audit_log()[-1]
    assert (entry.action, entry.subject) == ("absence.decide", f"absence:{ill}")
    assert entry.details == {
        "decision": "acceptable",
        "with_message": False,
        "participant_told": False,  # he has not linked Telegram
    }
    assert outbox_count() == 0
    # Either way it uses a catch-up.
    summary = json.loads(ok(cli, "attendance", "record", sam, "2", "attended", "--json").output)
    assert summary["catch_ups_used"] == 1

    before = audit_log()
    for decision in ("acceptable", "unacceptable"):
        line = fail(cli, "absence", "decide", str(ill), decision)
        assert line == "Error: This absence is already acceptable; it cannot be decided again."
    assert audit_log() == before
    assert outcome_of(sam, 1) is Outcome.ABSENT_ACCEPTABLE


def test_decide_unacceptable_with_a_message_in_json(cli: CliRunner) -> None:
    sam = _setup(cli)
    work = add_report(sam, 2, Reason.WORK, details="A late shift")
    data = json.loads(
        ok(
            cli,
            "absence",
            "decide",
            str(work),
            "unacceptable",
            "--message",
            "  Please call me.  ",
            "--json",
        ).output
    )
    assert data["id"] == work
    assert data["status"] == "unacceptable"
    assert data["decision_message"] == "Please call me."
    assert data["decided_by"].startswith("cli:")
    assert outcome_of(sam, 2) is Outcome.ABSENT_UNACCEPTABLE
    entry = audit_log()[-1]
    assert entry.action == "absence.decide"
    assert entry.details == {
        "decision": "unacceptable",
        "with_message": True,
        "participant_told": False,
    }
    line = fail(cli, "absence", "decide", str(work), "acceptable")
    assert line == "Error: This absence is already unacceptable; it cannot be decided again."


def test_decide_replaces_a_recorded_miss(cli: CliRunner) -> None:
    sam = _setup(cli)
    ok(cli, "attendance", "record", sam, "1", "missed")
    assert outcome_of(sam, 1) is Outcome.ABSENT
    ill = add_report(sam, 1, Reason.ILL)
    ok(cli, "absence", "decide", str(ill), "unacceptable")
    assert outcome_of(sam, 1) is Outcome.ABSENT_UNACCEPTABLE


def test_decide_refuses_a_session_recorded_as_attended_and_changes_nothing(
    cli: CliRunner,
) -> None:
    sam = _setup(cli)
    ok(cli, "attendance", "record", sam, "1", "attended")
    ill = add_report(sam, 1, Reason.ILL)
    before = audit_log()
    line = fail(cli, "absence", "decide", str(ill), "acceptable")
    assert line == (
        "Error: Session 1 is recorded as attended. Correct the attendance first if that is wrong."
    )
    assert outcome_of(sam, 1) is Outcome.ATTENDED
    report = report_row(ill)
    assert (report.status, report.decided_at) == (AbsenceStatus.REPORTED, None)
    assert audit_log() == before


def test_decide_keeps_a_failed_to_comply_record(cli: CliRunner) -> None:
    # He reported illness, then came late and was sent home: that record must stay.
    sam = _setup(cli)
    ok(cli, "attendance", "record", sam, "1", "failed-to-comply")
    ill = add_report(sam, 1, Reason.ILL)
    line = fail(cli, "absence", "decide", str(ill), "acceptable")
    assert line == (
        "Error: Session 1 is recorded as attended but failed to comply. Correct the attendance "
        "first if that is wrong."
    )
    assert outcome_of(sam, 1) is Outcome.FAILED_TO_COMPLY


def test_decide_an_unknown_absence_exits_1(cli: CliRunner) -> None:
    _setup(cli)
    before = audit_log()
    assert fail(cli, "absence", "decide", "999", "acceptable") == (
        "Error: There is no absence report 999."
    )
    assert audit_log() == before


def test_decide_refuses_a_message_that_is_too_long(cli: CliRunner) -> None:
    sam = _setup(cli)
    work = add_report(sam, 2, Reason.WORK, details="A late shift")
    line = fail(cli, "absence", "decide", str(work), "acceptable", "--message", "x" * 2001)
    assert line == "Error: The message is too long: at most 2000 characters."
    assert report_row(work).status is AbsenceStatus.REPORTED
    assert outcome_of(sam, 2) is None


def test_decide_refuses_an_unknown_decision(cli: CliRunner) -> None:
    sam = _setup(cli)
    work = add_report(sam, 2, Reason.WORK, details="A late shift")
    result = cli.invoke(main, ["absence", "decide", str(work), "maybe"])
    assert result.exit_code != 0
    assert report_row(work).status is AbsenceStatus.REPORTED


# --- absence certificate-received ----------------------------------------------------------


def test_certificate_received_works_once_for_an_illness(cli: CliRunner) -> None:
    sam = _setup(cli)
    ill = add_report(sam, 1, Reason.ILL)
    data = json.loads(ok(cli, "absence", "certificate-received", str(ill), "--json").output)
    assert data["id"] == ill
    assert data["status"] == "reported"  # receiving the note is not a decision
    received = datetime.fromisoformat(data["certificate_received_at"])
    assert abs(received - datetime.now(UTC)) < timedelta(minutes=5)
    assert received.utcoffset() == received.astimezone(LONDON).utcoffset()
    assert report_row(ill).certificate_received_at is not None
    entry = audit_log()[-1]
    assert (entry.action, entry.subject, entry.details) == (
        "absence.sick_note_received",
        f"absence:{ill}",
        None,
    )
    assert outbox_count() == 0

    before = audit_log()
    line = fail(cli, "absence", "certificate-received", str(ill))
    assert line == f"Error: The sick note for absence {ill} is already marked received."
    assert audit_log() == before


def test_certificate_received_text_output(cli: CliRunner) -> None:
    sam = _setup(cli)
    ill = add_report(sam, 1, Reason.ILL)
    assert ok(cli, "absence", "certificate-received", str(ill)).output.strip() == (
        f"Marked. #{ill} {sam} Sam Example: session 1 ({session_day(1)}), ill, reported; "
        "sick note received"
    )


def test_certificate_received_for_another_reason_exits_1(cli: CliRunner) -> None:
    sam = _setup(cli)
    work = add_report(sam, 2, Reason.WORK, details="A late shift")
    before = audit_log()
    line = fail(cli, "absence", "certificate-received", str(work))
    assert line == f"Error: Absence {work} is not for illness, so it needs no sick note."
    assert report_row(work).certificate_received_at is None
    assert audit_log() == before
    assert fail(cli, "absence", "certificate-received", "999") == (
        "Error: There is no absence report 999."
    )


def test_the_fifth_miss_flags_a_restart_for_staff(cli: CliRunner) -> None:
    reference = _setup(cli)
    for number in range(1, 5):
        ok(cli, "attendance", "record", reference, str(number), "missed")
    assert "RESTART" not in ok(cli, "participant", "list").output
    ok(cli, "attendance", "record", reference, "5", "missed")
    assert "RESTART: missed more sessions than catch-ups allow" in (
        ok(cli, "participant", "list").output
    )
    [listed] = json.loads(ok(cli, "participant", "list", "--json").output)
    assert listed["restart_flagged"] is True
    flags = [a for a in audit_log() if a.action == "participant.restart_flag"]
    assert [f.details for f in flags] == [{"missed": 5}]
    # A sixth miss does not flag (or tell him) again.
    ok(cli, "attendance", "record", reference, "6", "missed")
    assert [a.action for a in audit_log()].count("participant.restart_flag") == 1
