"""The staff queue: rows follow their items, pages cover everything once, filters and
counts agree, and assigning to a colleague changes who sees what."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import (
    AbsenceReport,
    AuditEntry,
    Complaint,
    FormatRequest,
    OutboxMessage,
    Participant,
    QueueItem,
    ScheduledSession,
    Staff,
)
from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.complaints import About, Category, Status
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.queue import Kind, Task
from bot.domain.roles import Role
from bot.services import absence_review, admin, queue
from bot.services.context import ServiceContext

ACTOR = "cli:tester"
OM1, OM2, SPO, ADMIN, CONTRACTS = (
    "om1@example.org",
    "om2@example.org",
    "spo@example.org",
    "admin@example.org",
    "contracts@example.org",
)


async def _people(services: ServiceContext) -> dict[str, int]:
    for email, role in [
        (OM1, Role.OFFENDER_MANAGER),
        (OM2, Role.OFFENDER_MANAGER),
        (SPO, Role.SENIOR_PROBATION_OFFICER),
        (ADMIN, Role.ADMIN),
        (CONTRACTS, Role.CONTRACTS_OFFICER),
    ]:
        await admin.add_staff(services, ACTOR, email, email.split("@")[0].upper(), role, None)
    await admin.add_cohort(services, ACTOR, "Thursday A", date(2026, 11, 5), time(18), None)
    await admin.add_participant(services, ACTOR, "Sam", "Thursday A", OM1, None, None)
    await admin.add_participant(services, ACTOR, "Tom", "Thursday A", OM2, None, None)
    async with services.uow() as session:
        ids = {s.email: s.id for s in await session.scalars(select(Staff))}
        ids |= {p.name: p.id for p in await session.scalars(select(Participant))}
    return ids


async def _absences(services: ServiceContext, participant_id: int, count: int) -> list[int]:
    """Reports for his first `count` sessions, not yet decided."""
    async with services.uow() as session:
        sessions = list(
            await session.scalars(
                select(ScheduledSession).order_by(ScheduledSession.number).limit(count)
            )
        )
        reports = [
            AbsenceReport(
                participant_id=participant_id,
                session_id=s.id,
                reason=Reason.WORK,
                details="Shift",
                status=AbsenceStatus.REPORTED,
                reported_at=services.now(),
            )
            for s in sessions
        ]
        session.add_all(reports)
        await session.commit()
    return [r.id for r in reports]


async def test_rows_follow_their_items_through_the_flush_hook(services: ServiceContext) -> None:
    ids = await _people(services)
    [report_id] = await _absences(services, ids["Sam"], 1)
    async with services.uow() as session:
        row = await session.scalar(select(QueueItem).where(QueueItem.absence_id == report_id))
        assert row is not None
        assert (row.kind, row.task, row.deadline) == (Kind.ABSENCE, Task.DECIDE_ABSENCE, False)
        assert row.due == date(2026, 11, 5)  # the session's day, in the area's zone
    await absence_review.decide_absence(
        services, ACTOR, report_id, absence_review.Decision.ACCEPTABLE, ""
    )
    async with services.uow() as session:
        row = await session.scalar(select(QueueItem).where(QueueItem.absence_id == report_id))
        assert row is not None and row.task is None
    page = await queue.list_queue(services, OM1)
    assert page.rows == []
    closed = await queue.list_queue(services, OM1, queue.Filters(status=queue.CLOSED))
    assert [r.reference for r in closed.rows] == [f"#{report_id}"]


async def test_pages_cover_every_item_once_forwards_and_back(services: ServiceContext) -> None:
    ids = await _people(services)
    report_ids = await _absences(services, ids["Sam"], 23)
    seen: list[str] = []
    page = await queue.list_queue(services, OM1, limit=5)
    assert page.previous is None
    pages = [page]
    while page.next is not None:
        page = await queue.list_queue(services, OM1, after=page.next, limit=5)
        pages.append(page)
    for p in pages:
        seen += [r.reference for r in p.rows]
    assert seen == [f"#{i}" for i in report_ids]  # by session day: oldest first
    assert [len(p.rows) for p in pages] == [5, 5, 5, 5, 3]
    assert pages[-1].next is None and pages[-1].previous is not None
    # Back from the last page gives the page before it.
    back = await queue.list_queue(services, OM1, before=pages[-1].previous, limit=5)
    assert [r.reference for r in back.rows] == [r.reference for r in pages[-2].rows]
    assert back.next is not None and back.previous is not None
    assert pages[0].counts.matching == 23


async def test_filters_and_counts_agree(services: ServiceContext, clock: object) -> None:
    ids = await _people(services)
    await _absences(services, ids["Sam"], 2)
    now = services.now()
    today = now.astimezone(services.profile.zone).date()
    async with services.uow() as session:
        session.add_all(
            [
                Complaint(
                    reference=f"C-T{n}",
                    participant_id=ids["Sam"],
                    category=Category.OTHER,
                    about=About.NOT_SAID,
                    stage=1,
                    status=Status.RECEIVED,
                    queue=Role.SENIOR_PROBATION_OFFICER,
                    received_at=now,
                    acknowledge_due=today + timedelta(days=offset),
                    reply_due=today + timedelta(days=20),
                )
                for n, offset in enumerate((-3, -1, 0, 4))
            ]
        )
        session.add(
            FormatRequest(
                reference="F-T1", participant_id=ids["Tom"], format="large_print", requested_at=now
            )
        )
        await session.commit()
    everything = await queue.list_queue(services, ADMIN)
    assert everything.counts.matching == 7
    assert everything.counts.by_kind == {Kind.ABSENCE: 2, Kind.COMPLAINT: 4, Kind.FORMAT: 1}
    assert everything.counts.overdue == 2
    overdue = await queue.list_queue(services, ADMIN, queue.Filters(overdue=True))
    assert [r.reference for r in overdue.rows] == ["C-T0", "C-T1"]
    assert all(r.overdue for r in overdue.rows)
    spo = await queue.list_queue(services, SPO)
    assert [r.reference for r in spo.rows] == ["C-T0", "C-T1", "C-T2", "C-T3"]
    assert spo.counts.by_kind == {Kind.ABSENCE: 0, Kind.COMPLAINT: 4, Kind.FORMAT: 0}
    assert [r.reference for r in (await queue.list_queue(services, CONTRACTS)).rows] == ["F-T1"]
    only_absences = await queue.list_queue(services, ADMIN, queue.Filters(kind=Kind.ABSENCE))
    assert {r.kind for r in only_absences.rows} == {Kind.ABSENCE}
    to_ack = await queue.list_queue(services, ADMIN, queue.Filters(status=Task.ACKNOWLEDGE))
    assert len(to_ack.rows) == 4
    assert (await queue.list_queue(services, OM2)).rows == []  # Tom's OM: nothing of Sam's


async def test_assigning_an_absence_lets_the_colleague_see_and_decide_it(
    services: ServiceContext,
) -> None:
    ids = await _people(services)
    [report_id] = await _absences(services, ids["Sam"], 1)
    key = str(report_id)
    with pytest.raises(NotFound):  # not hers yet
        await queue.assignment(services, OM2, Kind.ABSENCE, key)
    offer = await queue.assignment(services, OM1, Kind.ABSENCE, key)
    assert [c.name for c in offer.candidates] == ["OM1", "OM2"]
    assert offer.assignee is None and not offer.required
    with pytest.raises(InvalidInput):  # a Senior Probation Officer does not take absences
        await queue.assign(services, OM1, Kind.ABSENCE, key, ids[SPO])
    assert await queue.assign(services, OM1, Kind.ABSENCE, key, ids[OM2]) is True
    mine = await queue.list_queue(services, OM2, queue.Filters(assignee=queue.Assignee.ME))
    assert [(r.reference, r.assignee) for r in mine.rows] == [(f"#{report_id}", "OM2")]
    # Still in Sam's OM's queue too, showing who has it.
    assert [r.assignee for r in (await queue.list_queue(services, OM1)).rows] == ["OM2"]
    await absence_review.decide_absence(
        services, "staff:x", report_id, absence_review.Decision.ACCEPTABLE, "", viewer_email=OM2
    )
    async with services.uow() as session:
        audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "queue.assign"))
        assert audit is not None and audit.subject == f"absence:{report_id}"
        assert audit.details == {"assignee": f"staff:{ids[OM2]}"}


async def test_an_offender_managers_counts_agree_with_her_rows(services: ServiceContext) -> None:
    """Counts add up the parts of what she sees (her caseload; absences assigned to her from
    elsewhere), so an item in both must be counted once."""
    ids = await _people(services)
    sams = await _absences(services, ids["Sam"], 3)
    toms = await _absences(services, ids["Tom"], 2)
    await queue.assign(services, OM1, Kind.ABSENCE, str(sams[0]), ids[OM1])  # hers twice over
    await queue.assign(services, OM2, Kind.ABSENCE, str(toms[0]), ids[OM1])  # from elsewhere
    await absence_review.decide_absence(
        services, "staff:x", sams[1], absence_review.Decision.ACCEPTABLE, "", viewer_email=OM1
    )
    for filters in (
        queue.Filters(),
        queue.Filters(kind=Kind.ABSENCE),
        queue.Filters(status=queue.CLOSED),
        queue.Filters(assignee=queue.Assignee.ME),
        queue.Filters(assignee=queue.Assignee.NOBODY),
        queue.Filters(overdue=True),
    ):
        page = await queue.list_queue(services, OM1, filters)
        assert page.counts.matching == len(page.rows), filters
        assert page.counts.overdue == sum(r.overdue for r in page.rows), filters
    everything = await queue.list_queue(services, OM1)
    assert sorted(r.reference for r in everything.rows) == sorted(
        f"#{n}" for n in (sams[0], sams[2], toms[0])
    )
    assert everything.counts.by_kind == {Kind.ABSENCE: 3, Kind.COMPLAINT: 0, Kind.FORMAT: 0}
    closed = await queue.list_queue(services, OM1, queue.Filters(status=queue.CLOSED))
    assert [r.reference for r in closed.rows] == [f"#{sams[1]}"]


async def test_a_concern_for_offender_managers_is_handed_on_never_dropped(
    services: ServiceContext,
) -> None:
    ids = await _people(services)
    async with services.uow() as session:
        session.add(
            Complaint(
                reference="C-DISC1",
                participant_id=ids["Sam"],
                category=Category.DISCRIMINATION_GROUP,
                about=About.NOT_SAID,
                stage=1,
                status=Status.RECEIVED,
                queue=Role.OFFENDER_MANAGER,
                assignee_id=ids[OM1],
                received_at=services.now(),
                acknowledge_due=date(2026, 12, 1),
                reply_due=date(2026, 12, 20),
            )
        )
        om2 = await session.scalar(select(Staff).where(Staff.email == OM2))
        assert om2 is not None
        om2.telegram_chat_id = 777
        await session.commit()
    offer = await queue.assignment(services, OM1, Kind.COMPLAINT, "C-DISC1")
    assert offer.required and offer.assignee is not None and offer.assignee.name == "OM1"
    with pytest.raises(InvalidInput):
        await queue.assign(services, OM1, Kind.COMPLAINT, "C-DISC1", None)
    # Handed on: OM1 no longer sees it, OM2 does and got the neutral alert.
    assert await queue.assign(services, OM1, Kind.COMPLAINT, "C-DISC1", ids[OM2]) is False
    assert (await queue.list_queue(services, OM1)).rows == []
    assert [r.reference for r in (await queue.list_queue(services, OM2)).rows] == ["C-DISC1"]
    async with services.uow() as session:
        alert = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == 777))
        assert alert is not None and "C-DISC1" not in (alert.text or "")


async def test_a_bad_page_link_is_refused() -> None:
    with pytest.raises(InvalidInput):
        queue.Cursor.parse("yesterday_12")
    assert queue.Cursor.parse("2026-11-24_12") == queue.Cursor(date(2026, 11, 24), 12)
