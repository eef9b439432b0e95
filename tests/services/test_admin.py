from datetime import date, time

import pytest
from sqlalchemy import func, select

from bot.db.models import AuditEntry, EnrolmentCode, ScheduledSession, Staff
from bot.domain import enrolment
from bot.domain.attendance import Outcome
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.services import admin
from bot.services.context import ServiceContext
from tests.conftest import TEST_SECRET

ACTOR = "cli:tester"


async def _count(services: ServiceContext, model: type) -> int:
    async with services.uow() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _enrolled(services: ServiceContext) -> str:
    await admin.add_staff(
        services, ACTOR, "om@example.org", "Dana Fictional", "offender_manager", None
    )
    await admin.add_cohort(services, ACTOR, "Thursday A", date(2026, 12, 3), time(18), "Room 2")
    view, _ = await admin.add_participant(
        services, ACTOR, "Sam Example", "Thursday A", "om@example.org", None, None
    )
    return view.reference


async def test_duplicate_email_is_refused_and_changes_nothing(services: ServiceContext) -> None:
    await admin.add_staff(
        services, ACTOR, "om@example.org", "Dana Fictional", "offender_manager", None
    )
    with pytest.raises(Conflict, match="already exists"):
        await admin.add_staff(services, ACTOR, "OM@example.org", "Other", "admin", None)
    assert await _count(services, Staff) == 1
    assert await _count(services, AuditEntry) == 1


async def test_bad_role_email_and_phone_are_refused(services: ServiceContext) -> None:
    with pytest.raises(InvalidInput, match="Unknown role"):
        await admin.add_staff(services, ACTOR, "a@example.org", "A", "warden", None)
    with pytest.raises(InvalidInput, match="not an email"):
        await admin.add_staff(services, ACTOR, "not-an-email", "A", "admin", None)
    with pytest.raises(InvalidInput, match="phone"):
        await admin.add_staff(services, ACTOR, "a@example.org", "A", "admin", "call me")
    assert await _count(services, Staff) == 0


async def test_cohort_gets_35_weekly_sessions_moving_bank_holidays(
    services: ServiceContext,
) -> None:
    # Thursdays from 17 December 2026: none is a bank holiday, so try Mondays instead,
    # where 28 December (Boxing Day substitute) must move to Tuesday 29 December.
    view = await admin.add_cohort(services, ACTOR, "Monday B", date(2026, 12, 21), time(10), None)
    assert len(view.sessions) == 35
    assert view.sessions[1].moved_from == date(2026, 12, 28)
    assert view.sessions[1].starts_at.date() == date(2026, 12, 29)
    assert view.sessions[1].starts_at.hour == 10
    assert await _count(services, ScheduledSession) == 35
    with pytest.raises(Conflict):
        await admin.add_cohort(services, ACTOR, "Monday B", date(2027, 1, 4), time(10), None)
    assert await _count(services, ScheduledSession) == 35


async def test_participant_needs_a_known_cohort_and_offender_manager(
    services: ServiceContext,
) -> None:
    await admin.add_staff(
        services, ACTOR, "spo@example.org", "Lee Sample", "senior_probation_officer", None
    )
    await admin.add_cohort(services, ACTOR, "Thursday A", date(2026, 12, 3), time(18), None)
    with pytest.raises(NotFound, match="no cohort"):
        await admin.add_participant(services, ACTOR, "Sam", "Nope", "spo@example.org", None, None)
    with pytest.raises(InvalidInput, match="not an active Offender Manager"):
        await admin.add_participant(
            services, ACTOR, "Sam", "Thursday A", "spo@example.org", None, None
        )
    with pytest.raises(InvalidInput, match="not available"):
        await admin.add_participant(
            services, ACTOR, "Sam", "Thursday A", "spo@example.org", "xx", None
        )


async def test_codes_are_stored_hashed_and_a_fresh_code_revokes_the_old(
    services: ServiceContext,
) -> None:
    await admin.add_staff(services, ACTOR, "om@example.org", "Dana", "offender_manager", None)
    await admin.add_cohort(services, ACTOR, "Thursday A", date(2026, 12, 3), time(18), None)
    view, first = await admin.add_participant(
        services, ACTOR, "Sam", "Thursday A", "om@example.org", "en", "companion_bot"
    )
    assert first.link == f"https://t.me/companion_bot?start={first.code.replace('-', '')}"
    second = await admin.issue_code(services, ACTOR, view.reference, None)
    async with services.uow() as session:
        rows = list(await session.scalars(select(EnrolmentCode).order_by(EnrolmentCode.id)))
    plain = enrolment.normalise_code(first.code)
    assert plain is not None
    assert rows[0].code_hash == enrolment.hash_code(plain, TEST_SECRET)
    assert all(plain not in row.code_hash for row in rows)
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None
    assert second.code != first.code


async def test_attendance_and_catch_ups_give_the_documented_figures(
    services: ServiceContext,
) -> None:
    ref = await _enrolled(services)
    await admin.record_attendance(services, ACTOR, ref, 1, Outcome.ATTENDED)
    await admin.record_attendance(services, ACTOR, ref, 2, Outcome.ATTENDED)
    summary = await admin.record_attendance(services, ACTOR, ref, 3, Outcome.ABSENT)
    assert (summary.sessions_completed, summary.catch_ups_used, summary.catch_ups_left) == (2, 1, 3)
    assert summary.catch_ups_outstanding == 1
    summary = await admin.record_catch_up(services, ACTOR, ref, 3, date(2026, 12, 20))
    assert (summary.sessions_completed, summary.catch_ups_outstanding) == (3, 0)
    with pytest.raises(Conflict, match="already recorded"):
        await admin.record_catch_up(services, ACTOR, ref, 3, date(2026, 12, 21))
    with pytest.raises(Conflict, match="attended"):
        await admin.record_catch_up(services, ACTOR, ref, 1, date(2026, 12, 21))
    with pytest.raises(Conflict, match="catch-up recorded"):
        await admin.record_attendance(services, ACTOR, ref, 3, Outcome.ATTENDED)


async def test_session_number_out_of_range_changes_nothing(services: ServiceContext) -> None:
    ref = await _enrolled(services)
    audits = await _count(services, AuditEntry)
    with pytest.raises(InvalidInput, match="out of range"):
        await admin.record_attendance(services, ACTOR, ref, 36, Outcome.ATTENDED)
    with pytest.raises(NotFound):
        await admin.record_attendance(services, ACTOR, "P-NOPE00", 1, Outcome.ATTENDED)
    assert await _count(services, AuditEntry) == audits


async def test_every_admin_action_is_audited(services: ServiceContext) -> None:
    ref = await _enrolled(services)
    await admin.record_attendance(services, ACTOR, ref, 1, Outcome.ABSENT)
    await admin.record_attendance(services, ACTOR, ref, 1, Outcome.ATTENDED)
    async with services.uow() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [e.action for e in entries] == [
        "staff.add",
        "cohort.add",
        "participant.add",
        "attendance.record",
        "attendance.record",
    ]
    assert all(e.actor == ACTOR for e in entries)
    assert entries[-1].details == {"session": 1, "outcome": "ATTC", "previous": "ABSENT"}
