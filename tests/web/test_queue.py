"""The queue and the item pages: what each role sees, the actions, and URL guessing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.db.models import (
    AbsenceReport,
    Attachment,
    Complaint,
    OutboxMessage,
    Participant,
    ScheduledSession,
    TelegramLink,
)
from bot.domain import complaints as rules
from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.complaints import About, Category, Status
from bot.services import admin
from tests.web.conftest import ACTOR, Dashboard, csrf

OM, OTHER_OM, SPO, CHIEF, CO, ADMIN = (
    "om@example.org",
    "om2@example.org",
    "spo@example.org",
    "chief@example.org",
    "co@example.org",
    "admin@example.org",
)


async def _world(dashboard: Dashboard) -> dict[str, int]:
    """Staff of every role; Sam (Dana's caseload, phone linked) with an illness absence and
    a sick note, and a discrimination concern about Dana (so routed to the SPO)."""
    for email, role in [
        (OTHER_OM, "offender_manager"),
        (SPO, "senior_probation_officer"),
        (CHIEF, "chief_officer"),
        (CO, "contracts_officer"),
        (ADMIN, "admin"),
    ]:
        await dashboard.add_staff(email, role)
    services = dashboard.core.services
    view, _code = await admin.add_participant(services, ACTOR, "Sam", "Thursday A", OM, None, None)
    now = dashboard.clock.now
    async with services.uow() as session:
        sam = await session.scalar(
            select(Participant).where(Participant.reference == view.reference)
        )
        assert sam is not None
        first = await session.scalar(select(ScheduledSession).where(ScheduledSession.number == 1))
        assert first is not None
        session.add(
            TelegramLink(participant_id=sam.id, telegram_user_id=77, chat_id=77, linked_at=now)
        )
        report = AbsenceReport(
            participant_id=sam.id,
            session_id=first.id,
            reason=Reason.ILL,
            details="Flu",
            status=AbsenceStatus.REPORTED,
            reported_at=now,
            self_certificate_due=datetime(2026, 12, 10).date(),
        )
        session.add(report)
        await session.flush()
        note = Attachment(
            absence_id=report.id,
            telegram_file_id="x",
            file_name="note.pdf",
            mime_type="application/pdf",
            size=8,
            content=b"%PDF-1.4",
            received_at=now,
            fetched_at=now,
        )
        routing = rules.route(
            Category.DISCRIMINATION_STAFF, sam.offender_manager_id, sam.offender_manager_id
        )
        due = rules.deadlines(
            now.date(),
            1,
            dashboard.core.profile.working_calendar(),
            dashboard.core.profile.complaint_rules,
        )
        complaint = Complaint(
            reference="C-7K3QX",
            participant_id=sam.id,
            category=Category.DISCRIMINATION_STAFF,
            about=About.STAFF,
            about_staff_id=sam.offender_manager_id,
            stage=1,
            status=Status.RECEIVED,
            queue=routing.queue,
            assignee_id=routing.assignee_id,
            received_at=now,
            acknowledge_due=due.acknowledge_by,
            reply_due=due.reply_by,
        )
        session.add_all([note, complaint])
        await session.commit()
        return {"absence": report.id, "file": note.id}


async def test_his_om_decides_and_he_is_told(dashboard: Dashboard) -> None:
    ids = await _world(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        queue = await (await browser.get("/")).text()
        assert "Absence to decide" in queue and "Sam" in queue
        # The concern about Dana is not in her queue at all.
        assert "C-7K3QX" not in queue
        page = await browser.get(f"/absences/{ids['absence']}")
        html = await page.text()
        assert "Flu" in html and "note.pdf" in html
        decided = await browser.post(
            f"/absences/{ids['absence']}/decide",
            data={"csrf_token": csrf(html), "decision": "acceptable", "message": "Get well."},
            allow_redirects=False,
        )
        assert decided.status == 303
        after = await (await browser.get(f"/absences/{ids['absence']}")).text()
        assert "acceptable" in after and "Send decision" not in after
    async with dashboard.core.services.uow() as session:
        texts = list(
            await session.scalars(select(OutboxMessage.text).where(OutboxMessage.chat_id == 77))
        )
    assert any(
        t and t.startswith("Update about your session on") and "Get well." in t for t in texts
    )


async def test_files_download_as_attachments_only_for_those_allowed(
    dashboard: Dashboard,
) -> None:
    ids = await _world(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        file = await browser.get(f"/files/{ids['file']}")
        assert file.status == 200
        assert file.headers["Content-Disposition"] == (
            "attachment; filename=\"note.pdf\"; filename*=UTF-8''note.pdf"
        )
        assert await file.read() == b"%PDF-1.4"
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OTHER_OM)
        assert (await browser.get(f"/files/{ids['file']}")).status == 404


@pytest.mark.parametrize(
    ("email", "absence", "complaint", "format_page"),
    [
        (OM, 200, 404, 404),
        (OTHER_OM, 404, 404, 404),
        (SPO, 404, 200, 404),
        (CHIEF, 404, 404, 404),
        (CO, 404, 404, 200),
        (ADMIN, 200, 200, 200),
    ],
)
async def test_access_by_role_and_caseload(
    dashboard: Dashboard, email: str, absence: int, complaint: int, format_page: int
) -> None:
    ids = await _world(dashboard)
    async with dashboard.core.services.uow() as session:
        from bot.db.models import FormatRequest

        sam = await session.scalar(select(Participant))
        assert sam is not None
        request = FormatRequest(
            reference="F-2M9PA",
            participant_id=sam.id,
            format="braille",
            requested_at=dashboard.clock.now,
        )
        session.add(request)
        await session.commit()
        format_id = request.id
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, email)
        assert (await browser.get(f"/absences/{ids['absence']}")).status == absence
        assert (await browser.get("/complaints/C-7K3QX")).status == complaint
        assert (await browser.get(f"/format-requests/{format_id}")).status == format_page
        # Guessing the next ids finds nothing either.
        assert (await browser.get(f"/absences/{ids['absence'] + 1}")).status == 404
        queue = await (await browser.get("/")).text()
        assert ("C-7K3QX" in queue) is (complaint == 200)
        assert ("F-2M9PA" in queue) is (format_page == 200)
        # A state change by someone who may not see the item changes nothing.
        page = await browser.get("/")
        token = csrf(await page.text())
        posted = await browser.post(
            "/complaints/C-7K3QX/acknowledge", data={"csrf_token": token}, allow_redirects=False
        )
        assert posted.status == (303 if complaint == 200 else 404)


async def test_spo_replies_in_the_dashboard_and_he_gets_it(dashboard: Dashboard) -> None:
    await _world(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, SPO)
        page = await browser.get("/complaints/C-7K3QX")
        html = await page.text()
        assert "due in" in html
        sent = await browser.post(
            "/complaints/C-7K3QX/reply",
            data={"csrf_token": csrf(html), "message": "We are looking into it."},
            allow_redirects=False,
        )
        assert sent.status == 303
        empty = await browser.post(
            "/complaints/C-7K3QX/reply", data={"csrf_token": csrf(html), "message": " "}
        )
        assert empty.status == 400 and "The reply is empty." in await empty.text()
    async with dashboard.core.services.uow() as session:
        texts = list(await session.scalars(select(OutboxMessage.text)))
    assert any(t and "We are looking into it." in t for t in texts)


async def test_deadlines_read_as_working_days(dashboard: Dashboard) -> None:
    await _world(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        # Sick note due Thursday 10 December; on Tuesday 8 December that is 2 working days.
        dashboard.clock.now = datetime(2026, 12, 8, 9, tzinfo=UTC)
        await dashboard.sign_in(browser, OM)
        assert "due in 2 working days" in await (await browser.get("/")).text()
        dashboard.clock.now = datetime(2026, 12, 10, 9, tzinfo=UTC)
        await dashboard.sign_in(browser, OM)
        assert "due today" in await (await browser.get("/")).text()
        dashboard.clock.now = datetime(2026, 12, 14, 9, tzinfo=UTC)
        await dashboard.sign_in(browser, OM)
        late = await (await browser.get("/")).text()
        assert "2 working days overdue" in late and 'class="overdue"' in late


async def test_the_audit_log_is_for_admins_and_shows_every_view(dashboard: Dashboard) -> None:
    ids = await _world(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        await browser.get(f"/absences/{ids['absence']}")
        await browser.get(f"/files/{ids['file']}")
        assert (await browser.get("/audit")).status == 404
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, ADMIN)
        page = await (await browser.get("/audit?action=absence.view")).text()
        assert f"absence:{ids['absence']}" in page
        files = await (await browser.get("/audit?action=attachment")).text()
        assert f"attachment:{ids['file']}" in files
        everything = await (await browser.get("/audit")).text()
        assert "staff.sign_in" in everything


async def test_notes_stay_with_staff_and_replies_show_their_delivery(
    dashboard: Dashboard,
) -> None:
    ids = await _world(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, SPO)
        page = await (await browser.get("/complaints/C-7K3QX")).text()
        await browser.post(
            "/complaints/C-7K3QX/notes",
            data={"csrf_token": csrf(page), "note": "Spoke to Dana's manager."},
        )
        await browser.post(
            "/complaints/C-7K3QX/reply", data={"csrf_token": csrf(page), "message": "Answer."}
        )
        shown = await (await browser.get("/complaints/C-7K3QX")).text()
        assert "Spoke to Dana&#39;s manager." in shown
        assert "(queued)" in shown
        async with dashboard.core.services.uow() as session:
            sent = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.text.like("%Answer.%"))
            )
            assert sent is not None
            sent.status, sent.last_error = "failed", "Forbidden: bot was blocked by the user"
            await session.commit()
        shown = await (await browser.get("/complaints/C-7K3QX")).text()
        assert "failed: participant has blocked the bot" in shown
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        page = await (await browser.get(f"/absences/{ids['absence']}")).text()
        noted = await browser.post(
            f"/absences/{ids['absence']}/notes",
            data={"csrf_token": csrf(page), "note": "Phoned him."},
        )
        assert "Phoned him." in await noted.text()
    async with dashboard.core.services.uow() as session:
        texts = list(await session.scalars(select(OutboxMessage.text)))
    assert not any(t and ("Phoned him." in t or "manager" in t) for t in texts)


async def test_nonsense_in_urls_and_forms_is_a_404_or_a_403_never_a_crash(
    dashboard: Dashboard,
) -> None:
    await _world(dashboard)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, ADMIN)
        for path in (
            "/absences/99999999999999999999999",
            "/files/99999999999999999999999",
            "/cohorts/1/sessions/99999",
            "/complaints/%F0%9F%98%80",
        ):
            assert (await browser.get(path)).status == 404, path
        assert (await browser.get("/audit?before=%C2%B2")).status == 200
        forged = await browser.post("/sign-out", data={"csrf_token": "é"})
        assert forged.status == 403


async def test_a_file_name_outside_ascii_is_sent_both_ways(dashboard: Dashboard) -> None:
    ids = await _world(dashboard)
    async with dashboard.core.services.uow() as session:
        note = await session.get(Attachment, ids["file"])
        assert note is not None
        note.file_name = "Krankmeldung-für-Sam.pdf"
        await session.commit()
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OM)
        file = await browser.get(f"/files/{ids['file']}")
        assert file.headers["Content-Disposition"] == (
            'attachment; filename="Krankmeldung-fr-Sam.pdf"; '
            "filename*=UTF-8''Krankmeldung-f%C3%BCr-Sam.pdf"
        )
