"""The database query for a staff member's complaints agrees with the rule, case by case."""

from __future__ import annotations

import itertools
from datetime import date, time

from sqlalchemy import select

from bot.db.models import Complaint, Participant, Staff
from bot.domain import complaints as rules
from bot.domain.complaints import About, Category, Status
from bot.domain.queue import Kind
from bot.domain.roles import Role
from bot.services import admin, complaint_review
from bot.services import queue as staff_queue
from bot.services.complaints import visibility
from bot.services.context import ServiceContext

ACTOR = "cli:tester"


async def test_every_viewer_lists_exactly_what_the_rule_lets_them_see(
    services: ServiceContext,
) -> None:
    emails = {}
    for role in Role:
        for n in (1, 2):
            email = f"{role.value}{n}@example.org"
            await admin.add_staff(services, ACTOR, email, f"{role.value} {n}", role.value, None)
            emails[email] = role
    await admin.add_cohort(services, ACTOR, "Thursday A", date(2026, 12, 3), time(18), None)
    await admin.add_participant(
        services, ACTOR, "Sam", "Thursday A", "offender_manager1@example.org", None, None
    )
    now = services.now()
    async with services.uow() as session:
        staff = {s.email: s.id for s in await session.scalars(select(Staff))}
        sam = await session.scalar(select(Participant))
        assert sam is not None
        people = [
            None,
            staff["offender_manager1@example.org"],
            staff["offender_manager2@example.org"],
        ]
        people += [
            staff["senior_probation_officer1@example.org"],
            staff["chief_officer1@example.org"],
        ]
        queues = [Role.OFFENDER_MANAGER, Role.SENIOR_PROBATION_OFFICER, Role.CHIEF_OFFICER]
        for n, (stage, queue, assignee, about) in enumerate(
            itertools.product((1, 2), queues, people, people)
        ):
            session.add(
                Complaint(
                    reference=f"C-{n:05d}",
                    participant_id=sam.id,
                    category=Category.OTHER,
                    about=About.STAFF if about else About.NOT_SAID,
                    about_staff_id=about,
                    stage=stage,
                    status=Status.RECEIVED,
                    queue=queue,
                    assignee_id=assignee,
                    received_at=now,
                    acknowledge_due=date(2026, 12, 1),
                    reply_due=date(2026, 12, 20),
                )
            )
        await session.commit()
        every = list(await session.scalars(select(Complaint)))
    for email, role in emails.items():
        expected = sorted(
            c.reference for c in every if rules.can_see(staff[email], role, visibility(c))
        )
        listed = await complaint_review.list_complaints(services, email)
        assert sorted(v.reference for v in listed) == expected, email
        # The staff queue (its own table) lists the same ones.
        page = await staff_queue.list_queue(
            services, email, staff_queue.Filters(kind=Kind.COMPLAINT), limit=1000
        )
        assert sorted(r.reference for r in page.rows) == expected, email
        # Nobody ever lists a complaint about themselves.
        assert all(c.about_staff_id != staff[email] for c in every if c.reference in expected)
