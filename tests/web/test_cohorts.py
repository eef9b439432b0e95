"""Registers: a facilitator records a whole session in one form; others cannot."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.db.models import Cohort, Participant
from bot.domain.attendance import Outcome
from bot.services import admin
from bot.services.progress import load_summary
from tests.web.conftest import ACTOR, Dashboard, csrf

FACILITATOR, OTHER = "fac@example.org", "fac2@example.org"


async def _cohort(dashboard: Dashboard) -> tuple[int, list[str]]:
    services = dashboard.core.services
    await dashboard.add_staff(FACILITATOR, "facilitator", "Flo Fictional")
    await dashboard.add_staff(OTHER, "facilitator", "Fen Fictional")
    await admin.add_cohort_facilitator(services, ACTOR, "Thursday A", FACILITATOR)
    references = []
    for name in ("Sam", "Alex"):
        view, _ = await admin.add_participant(
            services, ACTOR, name, "Thursday A", "om@example.org", None, None
        )
        references.append(view.reference)
    async with services.uow() as session:
        cohort_id = await session.scalar(select(Cohort.id))
    assert cohort_id is not None
    return cohort_id, references


async def test_a_facilitator_records_a_session_and_progress_changes(dashboard: Dashboard) -> None:
    cohort_id, (sam, alex) = await _cohort(dashboard)
    dashboard.clock.now = datetime(2026, 12, 3, 20, tzinfo=UTC)  # after session 1
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, FACILITATOR)
        cohorts = await (await browser.get("/cohorts")).text()
        assert "Thursday A" in cohorts and "Session 35" in cohorts
        page = await browser.get(f"/cohorts/{cohort_id}/sessions/1")
        html = await page.text()
        saved = await browser.post(
            f"/cohorts/{cohort_id}/sessions/1",
            data={
                "csrf_token": csrf(html),
                f"outcome-{sam}": "attended",
                f"outcome-{alex}": "missed",
            },
        )
        assert saved.status == 200 and "Saved: 2 changed." in await saved.text()
        again = await browser.post(
            f"/cohorts/{cohort_id}/sessions/1",
            data={"csrf_token": csrf(html), f"outcome-{sam}": "attended"},
        )
        assert "Saved: nothing changed." in await again.text()
        # A session still to come cannot be recorded.
        future = await browser.post(
            f"/cohorts/{cohort_id}/sessions/2",
            data={"csrf_token": csrf(html), f"outcome-{sam}": "attended"},
        )
        assert future.status == 400 and "has not started yet" in await future.text()
    async with dashboard.core.services.uow() as session:
        people = {p.reference: p.id for p in await session.scalars(select(Participant))}
        sam_summary = await load_summary(session, dashboard.core.profile.rules, people[sam])
        alex_summary = await load_summary(session, dashboard.core.profile.rules, people[alex])
    assert (sam_summary.sessions_completed, alex_summary.sessions_missed) == (1, 1)


async def test_only_the_cohorts_facilitators_and_admins_see_the_register(
    dashboard: Dashboard,
) -> None:
    cohort_id, (sam, _alex) = await _cohort(dashboard)
    await dashboard.add_staff("admin@example.org", "admin")
    dashboard.clock.now = datetime(2026, 12, 3, 20, tzinfo=UTC)
    for email, status in [
        (OTHER, 404),
        ("om@example.org", 404),
        ("admin@example.org", 200),
    ]:
        async with dashboard.client() as browser:
            await dashboard.sign_in(browser, email)
            page = await browser.get(f"/cohorts/{cohort_id}/sessions/1")
            assert page.status == status, email
            token = csrf(await (await browser.get("/")).text())
            posted = await browser.post(
                f"/cohorts/{cohort_id}/sessions/1",
                data={"csrf_token": token, f"outcome-{sam}": "missed"},
            )
            assert posted.status == status, email
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, OTHER)
        assert "You do not run any cohorts yet." in await (await browser.get("/cohorts")).text()


async def test_a_facilitator_adds_a_participant_and_gets_his_code_and_qr(
    dashboard: Dashboard,
) -> None:
    await _cohort(dashboard)
    dashboard.core.services.bot_username = "companion_test_bot"
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, FACILITATOR)
        form = await (await browser.get("/participants/new")).text()
        added = await browser.post(
            "/participants/new",
            data={
                "csrf_token": csrf(form),
                "name": "Jo",
                "cohort": "Thursday A",
                "offender_manager": "om@example.org",
                "language": "",
            },
        )
        html = await added.text()
        assert added.status == 200
        assert "https://t.me/companion_test_bot?start=" in html
        assert 'src="data:image/svg+xml;base64,' in html
        # Not a cohort he runs: refused, nothing added.
        other = await browser.post(
            "/participants/new",
            data={
                "csrf_token": csrf(form),
                "name": "Kit",
                "cohort": "Elsewhere",
                "offender_manager": "om@example.org",
            },
        )
        assert other.status == 404
    async with dashboard.core.services.uow() as session:
        names = list(await session.scalars(select(Participant.name)))
    assert "Jo" in names and "Kit" not in names


async def test_the_register_does_not_undo_an_offender_managers_decision(
    dashboard: Dashboard,
) -> None:
    cohort_id, (sam, _alex) = await _cohort(dashboard)
    dashboard.clock.now = datetime(2026, 12, 3, 20, tzinfo=UTC)
    await admin.record_attendance(dashboard.core.services, ACTOR, sam, 1, Outcome.ABSENT_ACCEPTABLE)
    async with dashboard.client() as browser:
        await dashboard.sign_in(browser, FACILITATOR)
        page = await (await browser.get(f"/cohorts/{cohort_id}/sessions/1")).text()
        refused = await browser.post(
            f"/cohorts/{cohort_id}/sessions/1",
            data={"csrf_token": csrf(page), f"outcome-{sam}": "missed"},
        )
        assert refused.status == 400
        assert "decided by the Offender Manager" in await refused.text()
        stranger = await browser.post(
            f"/cohorts/{cohort_id}/sessions/1",
            data={"csrf_token": csrf(page), "outcome-P-ZZZZZZ": "missed"},
        )
        assert stranger.status == 400 and "is not in Thursday A" in await stranger.text()
