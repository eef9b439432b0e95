"""The demo's data and its guards: every state it promises is really there (through the same
services the bot and dashboard use), the sign-ins it prints work, a database with other
people in it is refused, and demo mode cannot be pointed beyond this computer."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot import messages
from bot.app import build_core
from bot.cli import main
from bot.config import EXAMPLE_PROFILE, ConfigError, Profile, load_profile
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.db.models import AppState, CatchUpBooking, Participant, Staff
from bot.demo import data
from bot.demo.stack import (
    DEMO_TOKEN,
    check_offline,
    demo_settings,
    prepare_database,
    sqlite_url,
)
from bot.domain.absence import REPORT_LOOKBACK, self_certificate_due
from bot.domain.queue import Task
from bot.domain.roles import Role
from bot.domain.schedule import plan_weekly_sessions
from bot.services import absence_review, admin, complaint_review, format_requests, queue, staff_auth
from bot.services.progress import load_summary
from tests.conftest import make_settings
from tests.demo.conftest import demo_options, demo_running


async def test_the_demo_programme_shows_every_state_it_promises(tmp_path: Path) -> None:
    options = demo_options(tmp_path)
    async with demo_running(options) as demo:
        ctx = demo.core.services
        now = ctx.now()
        today = now.astimezone(ctx.profile.zone).date()
        people = await data.references(ctx)
        assert set(people) == {p.key for p in data.PERSONAS}

        assert {Role(s.role) for s in await admin.list_staff(ctx)} == set(Role)
        [cohort] = await admin.list_cohorts(ctx)
        assert len(cohort.sessions) == 35
        held = [s for s in cohort.sessions if s.starts_at + timedelta(hours=2) <= now]
        assert len(held) == 17, "halfway through its 35 sessions"

        summaries = {}
        async with ctx.uow() as session:
            for key, reference in people.items():
                participant = await session.scalar(
                    select(Participant).where(Participant.reference == reference)
                )
                assert participant is not None
                summaries[key] = await load_summary(session, ctx.profile.rules, participant.id)
            bookings = list(await session.scalars(select(CatchUpBooking)))
        on_track = summaries[data.ON_TRACK.key]
        assert (on_track.sessions_completed, on_track.catch_ups_used) == (17, 0)
        catch_up = summaries[data.CATCH_UP_DUE.key]
        assert (catch_up.catch_ups_outstanding, catch_up.may_attend_next_session) == (1, False)
        assert [b.starts_at > now for b in bookings] == [True]
        last = summaries[data.LAST_CATCH_UP.key]
        assert (last.catch_ups_used, last.catch_ups_left, last.catch_ups_outstanding) == (4, 0, 0)
        assert not last.restart_required

        languages = {p.name: p.language for p in await admin.list_participants(ctx)}
        assert (languages["Rhys Example"], languages["Karim Example"]) == ("cy", "ar")
        for persona, code in ((data.WELSH, "cy"), (data.ARABIC, "ar")):
            [welcome] = [m.text for m in demo.sandbox.messages_to(persona.phone_id)][:1]
            assert welcome == messages.welcome(ctx.catalogs.translator(code), persona.name)

        [absence] = await absence_review.list_absences(ctx, pending_only=True)
        assert (absence.first_name, absence.reason, absence.status) == (
            "Tom Example",
            "ill",
            "reported",
        )
        assert absence.sick_note_due is not None and absence.sick_note_due < today
        dana = await queue.list_queue(ctx, data.OFFENDER_MANAGER.email)
        [row] = [r for r in dana.rows if r.first_name == "Tom Example"]
        # In his Offender Manager's queue, overdue since the day the sick note was due.
        assert (row.task, row.due, row.overdue) == (
            Task.DECIDE_ABSENCE,
            absence.sick_note_due,
            True,
        )

        [complaint] = await complaint_review.list_complaints(ctx, "cai@example.org")
        assert (complaint.first_name, complaint.stage, complaint.queue) == (
            "Ben Example",
            2,
            "chief_officer",
        )
        [wanted] = await format_requests.list_requests(ctx)
        assert (wanted.first_name, wanted.format) == ("Sam Example", "audio")

        linked = await data.linked_phones(ctx)
        assert linked == {
            people[p.key]: p.phone_id for p in data.PERSONAS if p is not data.NOT_ENROLLED
        }
        async with ctx.uow() as session:
            dana_chat = await session.scalar(
                select(Staff.telegram_chat_id).where(Staff.email == data.OFFENDER_MANAGER.email)
            )
            mark = await session.get(AppState, data.MARK_KEY)
        assert dana_chat == data.STAFF_PHONE.user_id
        assert mark is not None and mark.value == data.READY
        phones = {p.name: p for p in await demo.directory.phones()}
        assert phones["Alex Example"].start_code
        assert [n for n, p in phones.items() if p.start_code] == ["Alex Example"]

        # The sign-ins it shows work: the password, then the code shown for now.
        sign_ins = await demo.directory.sign_ins()
        assert [s.email for s in sign_ins] == [s.email for s in data.STAFF]
        dana_sign_in = sign_ins[0]
        assert dana_sign_in.password and dana_sign_in.code
        anonymous = await staff_auth.open_session(ctx)
        signed = await staff_auth.sign_in(
            ctx, anonymous, dana_sign_in.email, dana_sign_in.password, "127.0.0.1"
        )
        assert not signed.needs_totp_setup
        done = await staff_auth.check_code(ctx, signed, dana_sign_in.code, "127.0.0.1")
        assert done.complete
        assert (await demo.directory.sign_ins())[0].used

        # Everything listens on this computer only, and the bot talks to the sandbox.
        assert demo.phone_url.startswith("http://127.0.0.1:")
        assert demo.dashboard_url.startswith("http://127.0.0.1:")
        assert demo.sandbox.url.startswith("http://127.0.0.1:")
        assert demo.core.settings.bot_api_url == demo.sandbox.url
        assert demo.core.settings.bot_token == DEMO_TOKEN
        references, password = people, dana_sign_in.password

    # A second start keeps the demo data (and its sign-ins) and issues Alex a fresh code.
    alex_code = phones["Alex Example"].start_code
    async with demo_running(dataclasses.replace(options, poll_timeout=1)) as again:
        assert await data.references(again.core.services) == references
        [dana_again, *_] = await again.directory.sign_ins()
        assert dana_again.password == password
        alex = {p.name: p for p in await again.directory.phones()}["Alex Example"]
        assert alex.start_code and alex.start_code != alex_code


async def _real_database(tmp_path: Path, profile: Profile) -> Path:
    """A database like a real deployment's: migrated, with a member of staff, no demo mark."""
    path = tmp_path / "companion.db"
    core = build_core(make_settings(sqlite_url(path), tmp_path), profile)
    await upgrade(core.engine)
    await admin.add_staff(
        core.services, "cli:tester", "om@example.org", "Dana Real", "offender_manager", None
    )
    await core.close()
    return path


def test_a_database_with_people_that_are_not_demo_data_is_refused(
    tmp_path: Path, profile: Profile
) -> None:
    path = asyncio.run(_real_database(tmp_path, profile))
    for reset in (False, True):
        options = demo_options(tmp_path, database=path, reset=reset)
        with pytest.raises(data.DemoRefused, match="not demo data"):
            asyncio.run(prepare_database(options))
    result = CliRunner().invoke(main, ["demo", "--database", str(path), "--reset"])
    assert result.exit_code == 1
    assert "holds staff, cohorts or participants that are not demo data" in result.output
    # Untouched: still there, with its member of staff and no mark.
    assert asyncio.run(_state(path)) == (None, 1)
    # Nor does it show sign-in codes for anyone in it.
    result = CliRunner().invoke(main, ["demo", "--database", str(path), "codes"])
    assert result.exit_code == 1
    assert "is not a demo database" in result.output


async def _state(path: Path) -> tuple[str | None, int]:
    engine = make_engine(sqlite_url(path))
    state = await data.database_state(engine)
    await engine.dispose()
    return state.mark, state.records


async def test_a_demo_database_is_kept_reset_on_request_and_redone_if_unfinished(
    tmp_path: Path, profile: Profile
) -> None:
    path = tmp_path / "demo.db"
    assert await prepare_database(demo_options(tmp_path, database=path)) is True

    async def marked(value: str) -> None:
        core = build_core(make_settings(sqlite_url(path), tmp_path), profile)
        await upgrade(core.engine)
        await admin.add_staff(
            core.services, "demo", "dana@example.org", "Dana Fictional", "offender_manager", None
        )
        async with core.services.uow() as session:
            session.add(AppState(key=data.MARK_KEY, value=value))
            await session.commit()
        await core.close()

    await marked(data.READY)
    assert await prepare_database(demo_options(tmp_path, database=path)) is False
    assert path.exists()
    assert await prepare_database(demo_options(tmp_path, database=path, reset=True)) is True
    assert not path.exists()
    # Stopped while the demo data was being written: it starts again from nothing.
    await marked(data.SEEDING)
    assert await prepare_database(demo_options(tmp_path, database=path)) is True
    assert not path.exists()


def test_demo_settings_ignore_the_environment_and_stay_on_this_computer(tmp_path: Path) -> None:
    real = {
        "COMPANION_BOT_TOKEN": "123456:a-real-token",
        "COMPANION_BOT_API_URL": "https://api.telegram.org",
        "COMPANION_DATABASE_URL": "postgresql+asyncpg://companion@db.example.org/companion",
        "COMPANION_WEB_LISTEN": "0.0.0.0:80",
        "COMPANION_WEB_URL": "https://companion.example.org",
        "COMPANION_WEBHOOK_SECRET": "a-webhook-secret",
        "COMPANION_SECRET_KEY": "a-real-secret-key-that-is-long-enough-000",
    }
    options = demo_options(tmp_path, env=real, dashboard_port=8181)
    settings = demo_settings(options, "http://127.0.0.1:43127")
    assert settings.bot_token == DEMO_TOKEN
    assert settings.bot_api_url == "http://127.0.0.1:43127"
    assert settings.database_url == sqlite_url(tmp_path / "demo.db")
    assert settings.web_listen == "127.0.0.1:8181"
    assert (settings.web_url, settings.webhook_secret) == (None, None)
    assert settings.secret_key != real["COMPANION_SECRET_KEY"].encode()
    # Enrolment links (and their QR codes) open the phone page, not Telegram.
    phone = options.phone_port
    assert settings.enrolment_link_base == f"http://127.0.0.1:{phone}/phone?start="
    assert settings.demo
    for unsafe in (
        {"bot_api_url": "https://api.telegram.org"},
        {"bot_api_url": "http://192.0.2.10:8081"},
        {"web_listen": "0.0.0.0:8181"},
        {"web_url": "https://companion.example.org"},
        {"webhook_secret": "secret"},
        {"enrolment_link_base": None},
        {"enrolment_link_base": "https://t.me/companion_demo_bot?start="},
    ):
        with pytest.raises(ConfigError, match="Demo mode"):
            check_offline(dataclasses.replace(settings, **unsafe))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "today",
    [datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(days=n) for n in range(0, 730, 5)]
    + [datetime(2026, 12, d, 20, tzinfo=UTC) for d in range(20, 32)]
    + [datetime(2027, 3, 28, 23, 30, tzinfo=UTC), datetime(2027, 4, 2, 12, tzinfo=UTC)],
    ids=lambda d: d.strftime("%Y-%m-%d"),
)
def test_any_day_the_cohort_is_halfway_with_an_overdue_sick_note_to_report(
    today: datetime,
) -> None:
    profile = load_profile(EXAMPLE_PROFILE)
    plan = data.plan_cohort(profile, today)
    planned = plan_weekly_sessions(
        plan.first_session, data.START_TIME, 35, profile.working_calendar(), profile.zone
    )
    held = [p for p in planned if p.starts_at_utc + timedelta(hours=2) <= today]
    assert len(held) == plan.past_sessions == 17
    assert planned[17].starts_at_utc > today
    sick = planned[plan.sick_session - 1]
    assert sick.starts_at_utc >= today - REPORT_LOOKBACK
    due = self_certificate_due(sick.local_date, profile.working_calendar(), 5)
    assert due < today.astimezone(profile.zone).date()


def test_codes_shows_each_demo_sign_in_code_of_now(tmp_path: Path, profile: Profile) -> None:
    """`companion demo codes`: what each authenticator app would show at this moment."""
    path = tmp_path / "demo.db"

    async def written() -> dict[str, str]:
        core = build_core(make_settings(sqlite_url(path), tmp_path), profile)
        await upgrade(core.engine)
        await data.seed(core.services)
        async with core.services.uow() as session:
            secrets = dict((await session.execute(select(Staff.email, Staff.totp_secret))).all())
        await core.close()
        return {email: str(secret) for email, secret in secrets.items()}

    secrets = asyncio.run(written())
    result = CliRunner().invoke(main, ["demo", "--database", str(path), "codes"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(data.STAFF)
    for person, line in zip(data.STAFF, lines, strict=True):
        shown = re.search(r"code (\d{6})", line)
        assert shown and person.email in line
        totp = pyotp.TOTP(secrets[person.email])
        now = datetime.now(UTC)
        assert shown.group(1) in {totp.at(now), totp.at(now - timedelta(seconds=30))}
