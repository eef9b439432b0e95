"""Queue pages and filters, assigning, saved replies, participant records, staff accounts
and the idle sign-out, used over HTTP as staff use them."""

from __future__ import annotations

import re

import aiohttp
from sqlalchemy import select

from bot.db.models import (
    AbsenceReport,
    Attendance,
    AuditEntry,
    OutboxMessage,
    Participant,
    ScheduledSession,
    Staff,
    TelegramLink,
)
from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.attendance import Outcome
from bot.services import admin
from bot.services.context import queue_message
from tests.web.conftest import ACTOR, Dashboard, csrf

OM, OTHER_OM, SPO, ADMIN, FACILITATOR = (
    "om@example.org",
    "om2@example.org",
    "spo@example.org",
    "admin@example.org",
    "fac@example.org",
)
ROW = re.compile(r'<a href="/absences/(\d+)">')


async def _staff(dashboard: Dashboard) -> None:
    for email, role, name in [
        (OTHER_OM, "offender_manager", "Kim Fictional"),
        (SPO, "senior_probation_officer", "Lee Fictional"),
        (ADMIN, "admin", "Ash Fictional"),
        (FACILITATOR, "facilitator", "Jo Fictional"),
    ]:
        await dashboard.add_staff(email, role, name)
    await admin.add_cohort_facilitator(dashboard.core.services, ACTOR, "Thursday A", FACILITATOR)


async def _sam_with_absences(dashboard: Dashboard, count: int) -> tuple[str, list[int]]:
    view, _ = await admin.add_participant(
        dashboard.core.services, ACTOR, "Sam", "Thursday A", OM, None, None
    )
    async with dashboard.core.services.uow() as session:
        sam = await session.scalar(
            select(Participant).where(Participant.reference == view.reference)
        )
        assert sam is not None
        sessions = await session.scalars(
            select(ScheduledSession).order_by(ScheduledSession.number).limit(count)
        )
        reports = [
            AbsenceReport(
                participant_id=sam.id,
                session_id=s.id,
                reason=Reason.WORK,
                details="Shift",
                status=AbsenceStatus.REPORTED,
                reported_at=dashboard.clock.now,
            )
            for s in sessions
        ]
        session.add_all(reports)
        await session.commit()
    return view.reference, [r.id for r in reports]


async def _token(browser: aiohttp.ClientSession, path: str = "/") -> str:
    return csrf(await (await browser.get(path)).text())


async def test_the_queue_pages_forwards_and_back_keeping_filters(dashboard: Dashboard) -> None:
    _, ids = await _sam_with_absences(dashboard, 35)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        first = await (await browser.get("/?type=absence&page_size=ignored")).text()
        assert "35 items" in first and "Absences (35)" in first
        # The 35 sessions' reports, 50 to a page: all on one page, no page links.
        assert [int(i) for i in ROW.findall(first)] == ids
        assert "Next page" not in first
    await _more_absences_for_paging(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        html = await (await browser.get("/?type=absence")).text()
        seen = [int(i) for i in ROW.findall(html)]
        assert len(seen) == 50 and "Previous page" not in html
        next_link = re.search(r'<a href="([^"]+)" rel="next">', html)
        assert next_link is not None
        assert "type=absence" in next_link.group(1)  # the filter is kept
        second = await (await browser.get(next_link.group(1).replace("&amp;", "&"))).text()
        rest = [int(i) for i in ROW.findall(second)]
        assert len(rest) == 20 and not set(rest) & set(seen)
        assert "Next page" not in second
        back = re.search(r'<a href="([^"]+)" rel="prev">', second)
        assert back is not None
        again = await (await browser.get(back.group(1).replace("&amp;", "&"))).text()
        assert [int(i) for i in ROW.findall(again)] == seen
        # A made-up page link is refused plainly.
        assert (await browser.get("/?after=yesterday")).status == 400
        # Filters that match nothing say so, with a way back.
        empty = await (await browser.get("/?overdue=1")).text()
        assert "Show everything that is open" in empty


async def _more_absences_for_paging(dashboard: Dashboard) -> None:
    """A second participant of Dana's with 35 more reports (70 in all)."""
    view, _ = await admin.add_participant(
        dashboard.core.services, ACTOR, "Tom", "Thursday A", OM, None, None
    )
    async with dashboard.core.services.uow() as session:
        tom = await session.scalar(
            select(Participant).where(Participant.reference == view.reference)
        )
        assert tom is not None
        for s in await session.scalars(select(ScheduledSession)):
            session.add(
                AbsenceReport(
                    participant_id=tom.id,
                    session_id=s.id,
                    reason=Reason.TRAVEL,
                    details="Bus",
                    status=AbsenceStatus.REPORTED,
                    reported_at=dashboard.clock.now,
                )
            )
        await session.commit()


async def test_an_om_hands_an_absence_to_a_colleague(dashboard: Dashboard) -> None:
    await _staff(dashboard)
    _, [report_id] = await _sam_with_absences(dashboard, 1)
    async with dashboard.core.services.uow() as session:
        kim = await session.scalar(select(Staff).where(Staff.email == OTHER_OM))
        assert kim is not None
        kim_id = kim.id
    async with dashboard.client() as colleague:
        await dashboard.sign_in(colleague, OTHER_OM)
        assert (await colleague.get(f"/absences/{report_id}")).status == 404
        async with dashboard.client() as browser:
            await dashboard.sign_in(browser, OM)
            page = await (await browser.get(f"/absences/{report_id}")).text()
            assert "Nobody in particular" in page and "Kim Fictional" in page
            assert "Lee Fictional" not in page  # an SPO does not take absences
            done = await browser.post(
                f"/absences/{report_id}/assign",
                data={"csrf_token": csrf(page), "assignee": str(kim_id)},
                allow_redirects=False,
            )
            assert (done.status, done.headers["Location"]) == (303, f"/absences/{report_id}")
            assert (
                "With Kim Fictional." in await (await browser.get(f"/absences/{report_id}")).text()
            )
        mine = await (await colleague.get("/?assignee=me")).text()
        assert ROW.findall(mine) == [str(report_id)]
        assert (await colleague.get(f"/absences/{report_id}")).status == 200


async def test_saved_replies_belong_to_a_role_and_fill_the_message(dashboard: Dashboard) -> None:
    await _staff(dashboard)
    _, [report_id] = await _sam_with_absences(dashboard, 1)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        token = await _token(browser, "/saved-replies")
        added = await browser.post(
            "/saved-replies",
            data={
                "csrf_token": token,
                "title": "Work shift",
                "text": "Please bring a letter from your employer next time.",
            },
            allow_redirects=False,
        )
        assert added.status == 303
        empty = await browser.post(
            "/saved-replies", data={"csrf_token": token, "title": " ", "text": "x"}
        )
        assert empty.status == 400 and "title and some words" in await empty.text()
        page = await (await browser.get(f"/absences/{report_id}")).text()
        link = re.search(r'<a href="\?reply=(\d+)#message">Work shift</a>', page)
        assert link is not None
        filled = await (await browser.get(f"/absences/{report_id}?reply={link.group(1)}")).text()
        assert "employer next time.</textarea>" in filled
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, SPO)
        assert "Work shift" not in await (await browser.get("/saved-replies")).text()
        refused = await browser.post(
            f"/saved-replies/{link.group(1)}/remove",
            data={"csrf_token": await _token(browser)},
            allow_redirects=False,
        )
        assert refused.status == 404
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        removed = await browser.post(
            f"/saved-replies/{link.group(1)}/remove",
            data={"csrf_token": await _token(browser)},
            allow_redirects=False,
        )
        assert removed.status == 303
        assert "Work shift" not in await (await browser.get("/saved-replies")).text()


async def test_a_lost_phone_is_unlinked_and_a_new_code_made(dashboard: Dashboard) -> None:
    await _staff(dashboard)
    reference, _ = await _sam_with_absences(dashboard, 0)
    async with dashboard.core.services.uow() as session:
        sam = await session.scalar(select(Participant).where(Participant.reference == reference))
        assert sam is not None
        session.add(
            TelegramLink(
                participant_id=sam.id,
                telegram_user_id=55,
                chat_id=55,
                linked_at=dashboard.clock.now,
            )
        )
        waiting = queue_message(session, dashboard.clock.now, 55, "Reminder", participant_id=sam.id)
        await session.commit()
        waiting_id = waiting.id
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OTHER_OM)  # not his OM
        assert (await browser.get(f"/participants/{reference}")).status == 404
        assert reference not in await (await browser.get("/participants")).text()
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        assert reference in await (await browser.get("/participants")).text()
        page = await (await browser.get(f"/participants/{reference}")).text()
        assert "Linked since" in page and "Catch-ups left</dt><dd>4 of 4" in page
        assert "Book catch-up" not in page  # facilitators and admins book them
        ended = await browser.post(
            f"/participants/{reference}/unlink", data={"csrf_token": csrf(page)}
        )
        assert "no longer linked" in await ended.text()
        again = await browser.post(
            f"/participants/{reference}/unlink", data={"csrf_token": csrf(page)}
        )
        assert again.status == 400  # nothing left to end
        code = await (
            await browser.post(f"/participants/{reference}/code", data={"csrf_token": csrf(page)})
        ).text()
        assert "Give him this code" in code
    async with dashboard.core.services.uow() as session:
        link = await session.scalar(select(TelegramLink))
        assert link is not None and link.unlinked_at is not None
        message = await session.get(OutboxMessage, waiting_id)
        assert message is not None and message.status == "cancelled"
        # Nothing was queued for the lost phone.
        assert (
            await session.scalar(
                select(OutboxMessage).where(
                    OutboxMessage.id != waiting_id, OutboxMessage.chat_id == 55
                )
            )
            is None
        )
        actions = set(await session.scalars(select(AuditEntry.action)))
        assert {"participant.view", "participant.unlink", "participant.code"} <= actions


async def test_a_facilitator_books_a_catch_up_for_a_missed_session(dashboard: Dashboard) -> None:
    await _staff(dashboard)
    reference, _ = await _sam_with_absences(dashboard, 0)
    async with dashboard.core.services.uow() as session:
        sam = await session.scalar(select(Participant).where(Participant.reference == reference))
        first = await session.scalar(select(ScheduledSession).where(ScheduledSession.number == 1))
        assert sam is not None and first is not None
        session.add(
            Attendance(
                participant_id=sam.id,
                session_id=first.id,
                outcome=Outcome.ABSENT_ACCEPTABLE,
                recorded_at=dashboard.clock.now,
            )
        )
        await session.commit()
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        refused = await browser.post(
            f"/participants/{reference}/catch-ups",
            data={
                "csrf_token": await _token(browser),
                "session": "1",
                "day": "2027-01-12",
                "time": "10:00",
                "venue": "",
            },
        )
        assert refused.status == 404
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, FACILITATOR)
        page = await (await browser.get(f"/participants/{reference}")).text()
        assert '<option value="1">Session 1</option>' in page
        bad = await browser.post(
            f"/participants/{reference}/catch-ups",
            data={"csrf_token": csrf(page), "session": "1", "day": "soon", "time": "10:00"},
        )
        assert bad.status == 400 and "a day and a time" in await bad.text()
        booked = await browser.post(
            f"/participants/{reference}/catch-ups",
            data={
                "csrf_token": csrf(page),
                "session": "1",
                "day": "2027-01-12",
                "time": "10:00",
                "venue": "Room 4",
            },
        )
        html = await booked.text()
        assert booked.status == 200 and "booked for Tuesday 12 January 2027 at 10:00" in html
        assert "For session 1: Tuesday 12 January 2027 at 10:00, Room 4" in html


async def test_admins_manage_staff_accounts_but_not_their_own(dashboard: Dashboard) -> None:
    await _staff(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        assert (await browser.get("/staff")).status == 404
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, ADMIN)
        page = await (await browser.get("/staff")).text()
        assert "Kim Fictional" in page
        added = await browser.post(
            "/staff",
            data={
                "csrf_token": csrf(page),
                "name": "Pat Fictional",
                "email": "pat@example.org",
                "role": "chief_officer",
            },
        )
        html = await added.text()
        assert "/set-password/" in html and "Pat Fictional" in html
        duplicate = await browser.post(
            "/staff",
            data={
                "csrf_token": csrf(page),
                "name": "Pat",
                "email": "pat@example.org",
                "role": "chief_officer",
            },
        )
        assert duplicate.status == 400
        async with dashboard.core.services.uow() as session:
            ids = {s.email: s.id for s in await session.scalars(select(Staff))}
        # Kim has a caseload? No: her role can change. Dana has Sam, so hers cannot.
        await admin.add_participant(
            dashboard.core.services, ACTOR, "Sam", "Thursday A", OM, None, None
        )
        moved = await browser.post(
            f"/staff/{ids[OTHER_OM]}",
            data={"csrf_token": csrf(page), "change": "role", "role": "senior_probation_officer"},
            allow_redirects=False,
        )
        assert moved.status == 303
        stuck = await browser.post(
            f"/staff/{ids[OM]}",
            data={"csrf_token": csrf(page), "change": "role", "role": "chief_officer"},
        )
        assert stuck.status == 400 and "move them to someone else" in await stuck.text()
        disabled = await browser.post(
            f"/staff/{ids[SPO]}",
            data={"csrf_token": csrf(page), "change": "disable"},
            allow_redirects=False,
        )
        assert disabled.status == 303
        reset = await browser.post(
            f"/staff/{ids[OTHER_OM]}", data={"csrf_token": csrf(page), "change": "password"}
        )
        assert "/set-password/" in await reset.text()
        own = await browser.post(
            f"/staff/{ids[ADMIN]}", data={"csrf_token": csrf(page), "change": "disable"}
        )
        assert own.status == 403
    async with dashboard.core.services.uow() as session:
        kim = await session.get(Staff, ids[OTHER_OM])
        lee = await session.get(Staff, ids[SPO])
        assert kim is not None and kim.role.value == "senior_probation_officer"
        assert kim.password_hash is None  # the reset link stops the old password at once
        assert lee is not None and not lee.active
        actions = list(await session.scalars(select(AuditEntry.action)))
        assert {"staff.add", "staff.role", "staff.disable", "staff.password_link"} <= set(actions)


async def test_stay_signed_in_renews_the_session(dashboard: Dashboard) -> None:
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        page = await (await browser.get("/")).text()
        assert 'data-idle-seconds="1800"' in page and "signed out after 30 minutes" in page
        assert (await browser.post("/keep-alive", data={"csrf_token": "wrong"})).status == 403
        assert (await browser.post("/keep-alive", data={"csrf_token": csrf(page)})).status == 204
    async with dashboard.client() as stranger:
        answer = await stranger.post("/keep-alive", data={}, allow_redirects=False)
        assert answer.status in (303, 403)
