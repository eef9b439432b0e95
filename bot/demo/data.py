"""The demo programme: invented staff for every role, one cohort halfway through its sessions,
and participants in the states worth showing. Everything is written through the ordinary
services (so audit entries, queue items and notices are real), then the database is marked as
demo data; `companion demo` refuses any database that holds people without that mark.

Only what cannot happen in a database alone (linking phones, reporting an absence, a
complaint taken to stage 2) is played through the chat, by `bot.demo.history`.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pyotp
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, Profile
from bot.db.claims import upsert
from bot.db.models import AppState, Participant, Staff, TelegramLink
from bot.domain.absence import REPORT_LOOKBACK
from bot.domain.absence import self_certificate_due as sick_note_due
from bot.domain.attendance import Outcome
from bot.domain.roles import Role
from bot.domain.schedule import PlannedSession, plan_weekly_sessions
from bot.sandbox.phone import Phone, SignIn
from bot.services import admin, staff_auth
from bot.services.context import ServiceContext
from bot.services.progress import load_summary

ACTOR = "demo"
# app_state keys. MARK says the database holds demo data only ("seeding" until the demo
# data is complete, then "ready"); the others are what the demo needs to show again.
MARK_KEY = admin.DEMO_DATA_KEY
SEEDING, READY = "seeding", "ready"
PASSWORD_KEY = "demo_staff_password"  # noqa: S105 - a key name; the value is generated
PEOPLE_KEY = "demo_people"

COHORT = "Demo cohort"
VENUE = "Room 2, Example House"
CATCH_UP_VENUE = "Room 5, Example House"
START_TIME = time(18, 0)


@dataclass(frozen=True, slots=True)
class DemoStaff:
    email: str
    name: str
    role: Role
    phone: str | None


STAFF = (
    DemoStaff("dana@example.org", "Dana Fictional", Role.OFFENDER_MANAGER, "01234 567890"),
    DemoStaff("fran@example.org", "Fran Fictional", Role.FACILITATOR, "01234 567891"),
    DemoStaff("sol@example.org", "Sol Fictional", Role.SENIOR_PROBATION_OFFICER, "01234 567892"),
    DemoStaff("cai@example.org", "Cai Fictional", Role.CHIEF_OFFICER, None),
    DemoStaff("cora@example.org", "Cora Fictional", Role.CONTRACTS_OFFICER, None),
    DemoStaff("ada@example.org", "Ada Fictional", Role.ADMIN, None),
)
OFFENDER_MANAGER = STAFF[0]
FACILITATOR = STAFF[1]
SENIOR_PROBATION_OFFICER = STAFF[2]


@dataclass(frozen=True, slots=True)
class Persona:
    """A demo participant and the phone he uses in the sandbox."""

    key: str
    name: str
    phone_id: int  # his Telegram user id (and private chat id) in the sandbox
    language: str | None  # the language on his record
    phone_language: str  # his phone's language, as Telegram reports it
    linked: bool  # his phone is linked while the demo data is written
    story: str  # what he shows, for the phone page's list

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


ON_TRACK = Persona("on-track", "Sam Example", 7100001, None, "en", True, "On track.")
CATCH_UP_DUE = Persona(
    "catch-up-due",
    "Lee Example",
    7100002,
    None,
    "en",
    True,
    "Missed the last session; his catch-up is booked.",
)
LAST_CATCH_UP = Persona(
    "last-catch-up",
    "Jay Example",
    7100003,
    None,
    "en",
    True,
    "Has used every catch-up: one more miss means starting again.",
)
WELSH = Persona("welsh", "Rhys Example", 7100004, "cy", "cy", True, "Reads everything in Welsh.")
ARABIC = Persona(
    "arabic", "Karim Example", 7100005, "ar", "ar", True, "Reads everything in Arabic."
)
SICK_NOTE = Persona(
    "sick-note",
    "Tom Example",
    7100006,
    None,
    "en",
    True,
    "Reported he was ill; his sick note is overdue.",
)
STAGE_2 = Persona(
    "stage-2",
    "Ben Example",
    7100007,
    None,
    "en",
    True,
    "Not satisfied with the answer to his complaint: it is at stage 2.",
)
NOT_ENROLLED = Persona(
    "not-enrolled",
    "Alex Example",
    7100008,
    None,
    "en",
    False,
    "Has not linked his phone yet: open his enrolment link.",
)
PERSONAS = (ON_TRACK, CATCH_UP_DUE, LAST_CATCH_UP, WELSH, ARABIC, SICK_NOTE, STAGE_2, NOT_ENROLLED)

# The Offender Manager's own phone, for her Telegram notices, and phones for participants
# added on the dashboard during the demo.
STAFF_PHONE = Phone(
    7200001,
    "Dana Fictional (Offender Manager)",
    "Dana",
    "en",
    "Staff phone: gets a notice when something new is in her queue.",
)
SPARE_PHONES = (
    Phone(7300001, "Spare phone 1", "Robin", "en", "Not linked: enrol someone you add."),
    Phone(7300002, "Spare phone 2", "Chris", "en", "Not linked: enrol someone you add."),
)


class DemoRefused(ConfigError):
    """The database holds data that is not demo data: the demo leaves it alone."""


@dataclass(frozen=True, slots=True)
class DatabaseState:
    has_tables: bool
    mark: str | None
    records: int  # staff, cohorts and participants


async def database_state(engine: AsyncEngine) -> DatabaseState:
    """What the database holds, read before anything (even a migration) touches it."""

    def read(connection: Connection) -> DatabaseState:
        names = set(inspect(connection).get_table_names())
        mark = None
        if "app_state" in names:
            mark = connection.execute(
                text("SELECT value FROM app_state WHERE key = :key"), {"key": MARK_KEY}
            ).scalar()
        records = sum(
            int(connection.execute(select(func.count()).select_from(table(name))).scalar() or 0)
            for name in ("staff", "cohorts", "participants")
            if name in names
        )
        return DatabaseState(bool(names), mark, records)

    async with engine.connect() as connection:
        return await connection.run_sync(read)


def check_demo_database(state: DatabaseState, where: str) -> None:
    """Refuse a database with staff, cohorts or participants not marked as demo data."""
    if state.records and state.mark is None:
        raise DemoRefused(
            f"{where} holds staff, cohorts or participants that are not demo data, so the "
            "demo will not use it. Point the demo at another file (companion demo --database "
            "PATH)."
        )


@dataclass(frozen=True, slots=True)
class CohortPlan:
    first_session: date
    past_sessions: int  # how many have been held
    sick_session: int  # the one the sick-note participant missed, still reportable


def plan_cohort(profile: Profile, now: datetime) -> CohortPlan:
    """A weekly cohort halfway through: half its sessions held, the next one soon, and a
    session recent enough to report whose sick-note deadline has already passed."""
    zone, calendar = profile.zone, profile.working_calendar()
    programme = profile.programme
    half = programme.sessions_required // 2
    today = now.astimezone(zone).date()
    length = timedelta(minutes=programme.session_minutes)
    for days_ago in range(6, 20):
        first = today - timedelta(days=days_ago, weeks=half - 1)
        planned = plan_weekly_sessions(
            first, START_TIME, programme.sessions_required, calendar, zone
        )
        past = [p for p in planned if p.starts_at_utc + length <= now]
        if len(past) != half or half < 2:
            continue
        sick = _sick_session(past, now, profile, today)
        if sick is not None:
            return CohortPlan(first, half, sick.number)
    raise ConfigError("The demo cannot plan a cohort with this programme profile.")


def _sick_session(
    past: list[PlannedSession], now: datetime, profile: Profile, today: date
) -> PlannedSession | None:
    """The oldest session he may still report (not the last one) whose note is overdue."""
    for planned in past[:-1]:
        if planned.starts_at_utc < now - REPORT_LOOKBACK:
            continue
        due = sick_note_due(
            planned.local_date,
            profile.working_calendar(),
            profile.programme.self_cert_working_days,
        )
        if due < today:
            return planned
    return None


def missed_sessions(persona: Persona, plan: CohortPlan, max_catch_ups: int) -> dict[int, Outcome]:
    """The sessions he missed, with the outcome recorded for each (the rest he attended)."""
    if persona is CATCH_UP_DUE:
        return {plan.past_sessions: Outcome.ABSENT}
    if persona is LAST_CATCH_UP:
        # Every catch-up used, spread over the sessions so far, each decided by his OM.
        step = max(1, (plan.past_sessions - 2) // max(1, max_catch_ups))
        numbers = [2 + step * index for index in range(max_catch_ups)]
        return {
            number: Outcome.ABSENT_ACCEPTABLE if index % 2 else Outcome.ABSENT_UNACCEPTABLE
            for index, number in enumerate(numbers)
            if number < plan.past_sessions
        }
    if persona is ARABIC:
        return {min(6, plan.past_sessions - 1): Outcome.ABSENT_ACCEPTABLE}
    if persona is SICK_NOTE:
        return {plan.sick_session: Outcome.ABSENT}
    return {}


@dataclass(frozen=True, slots=True)
class Seeded:
    """What the chat part of the demo data needs: the cohort, and his enrolment code for each
    phone to link."""

    plan: CohortPlan
    codes: dict[str, str]  # persona key -> enrolment code
    references: dict[str, str]  # persona key -> participant reference


async def seed(ctx: ServiceContext) -> Seeded:
    """Write the demo programme into an empty, migrated database."""
    now = ctx.now()
    await _set_state(ctx, MARK_KEY, SEEDING)
    password = "demo-" + secrets.token_urlsafe(9)
    for person in STAFF:
        await admin.add_staff(
            ctx, ACTOR, person.email, person.name, person.role.value, person.phone
        )
        token, _ = await staff_auth.issue_password_link(ctx, ACTOR, person.email)
        await staff_auth.set_password(ctx, token, password, "127.0.0.1")
    await _second_factors(ctx, now)
    await _set_state(ctx, PASSWORD_KEY, password)

    plan = plan_cohort(ctx.profile, now)
    await admin.add_cohort(ctx, ACTOR, COHORT, plan.first_session, START_TIME, VENUE)
    await admin.add_cohort_facilitator(ctx, ACTOR, COHORT, FACILITATOR.email)
    codes, references = {}, {}
    for persona in PERSONAS:
        view, code = await admin.add_participant(
            ctx, ACTOR, persona.name, COHORT, OFFENDER_MANAGER.email, persona.language, None
        )
        references[persona.key] = view.reference
        codes[persona.key] = code.code
    await _set_state(ctx, PEOPLE_KEY, json.dumps(references))
    await _attendance(ctx, plan, references)
    return Seeded(plan, codes, references)


async def _second_factors(ctx: ServiceContext, now: datetime) -> None:
    """Each account's authenticator is already set up; the demo shows the current code."""
    async with ctx.uow() as session:
        for staff in await session.scalars(select(Staff)):
            staff.totp_secret = pyotp.random_base32()
            staff.totp_confirmed_at = now
        await session.commit()


async def _attendance(ctx: ServiceContext, plan: CohortPlan, references: dict[str, str]) -> None:
    """The facilitator's registers for every session held, then the Offender Manager's
    decisions and the catch-ups done or booked."""
    max_catch_ups = ctx.profile.programme.max_catch_ups
    missed = {p.key: missed_sessions(p, plan, max_catch_ups) for p in PERSONAS}
    [cohort] = [c for c in await admin.list_cohorts(ctx) if c.name == COHORT]
    for number in range(1, plan.past_sessions + 1):
        outcomes = {
            references[key]: Outcome.ABSENT if number in sessions else Outcome.ATTENDED
            for key, sessions in missed.items()
        }
        await admin.record_session(ctx, FACILITATOR.email, cohort.id, number, outcomes)
    zone = ctx.profile.zone
    held = {s.number: s.starts_at.astimezone(zone).date() for s in cohort.sessions}
    for persona in PERSONAS:
        reference = references[persona.key]
        for number, outcome in missed[persona.key].items():
            if outcome is not Outcome.ABSENT:
                await admin.record_attendance(ctx, ACTOR, reference, number, outcome)
                await admin.record_catch_up(
                    ctx, ACTOR, reference, number, held[number] + timedelta(days=2)
                )
    today = ctx.now().astimezone(zone).date()
    await admin.book_catch_up(
        ctx,
        ACTOR,
        references[CATCH_UP_DUE.key],
        plan.past_sessions,
        datetime.combine(today + timedelta(days=2), time(14, 0)),
        CATCH_UP_VENUE,
    )


async def mark_ready(ctx: ServiceContext) -> None:
    await _set_state(ctx, MARK_KEY, READY)


async def _set_state(ctx: ServiceContext, key: str, value: str) -> None:
    async with ctx.uow() as session:
        await upsert(session, AppState, ["key"], key=key, value=value)
        await session.commit()


async def _state(ctx: ServiceContext, key: str) -> str | None:
    async with ctx.uow() as session:
        value: str | None = await session.scalar(select(AppState.value).where(AppState.key == key))
        return value


async def references(ctx: ServiceContext) -> dict[str, str]:
    """Persona key -> his participant reference."""
    stored = await _state(ctx, PEOPLE_KEY)
    return dict(json.loads(stored)) if stored else {}


async def linked_phones(ctx: ServiceContext) -> dict[str, int]:
    """Participant reference -> the Telegram user id of his linked phone."""
    async with ctx.uow() as session:
        rows = await session.execute(
            select(Participant.reference, TelegramLink.telegram_user_id)
            .join(TelegramLink, TelegramLink.participant_id == Participant.id)
            .where(TelegramLink.unlinked_at.is_(None))
        )
        return {reference: int(user_id) for reference, user_id in rows}


async def enrolment_codes(ctx: ServiceContext) -> dict[int, str]:
    """A fresh code for every demo participant whose phone is not linked (earlier codes stop
    working), by the phone he will use; codes are never stored in plain text."""
    people, linked = await references(ctx), await linked_phones(ctx)
    codes = {}
    for persona in PERSONAS:
        reference = people.get(persona.key)
        if reference is not None and reference not in linked:
            code = await admin.issue_code(ctx, ACTOR, reference, None)
            codes[persona.phone_id] = code.code
    return codes


async def phones(ctx: ServiceContext, codes: dict[int, str]) -> list[Phone]:
    """Every demo phone, with what each participant shows and his progress as it is now."""
    people, linked = await references(ctx), await linked_phones(ctx)
    required = ctx.profile.programme.sessions_required
    result = []
    for persona in PERSONAS:
        reference = people.get(persona.key)
        about = persona.story
        if not persona.linked and reference in linked:
            about = "Linked his phone during the demo."
        if reference is not None:
            summary = await _summary(ctx, reference)
            about += f" {summary} of {required} sessions done."
        waiting = reference is not None and linked.get(reference) != persona.phone_id
        result.append(
            Phone(
                persona.phone_id,
                persona.name,
                persona.first_name,
                persona.phone_language,
                about,
                codes.get(persona.phone_id) if waiting else None,
            )
        )
    return [*result, STAFF_PHONE, *SPARE_PHONES]


async def _summary(ctx: ServiceContext, reference: str) -> int:
    async with ctx.uow() as session:
        participant_id = await session.scalar(
            select(Participant.id).where(Participant.reference == reference)
        )
        if participant_id is None:
            return 0
        summary = await load_summary(session, ctx.profile.rules, participant_id)
        return summary.sessions_completed


async def sign_ins(ctx: ServiceContext) -> list[SignIn]:
    """The demo staff's sign-ins with the code their authenticator would show now."""
    password = await _state(ctx, PASSWORD_KEY) or ""
    titles = ctx.profile.roles
    now = ctx.now()
    emails = [person.email for person in STAFF]
    async with ctx.uow() as session:
        accounts = {
            s.email: s for s in await session.scalars(select(Staff).where(Staff.email.in_(emails)))
        }
    result = []
    for person in STAFF:
        staff = accounts.get(person.email)
        if staff is None:
            continue
        code, left, used = None, 0, False
        if staff.totp_secret and staff.totp_confirmed_at:
            totp = pyotp.TOTP(staff.totp_secret)
            step, into = divmod(int(now.astimezone(UTC).timestamp()), totp.interval)
            code, left = totp.at(now), totp.interval - into
            used = staff.totp_last_step is not None and staff.totp_last_step >= step
        result.append(
            SignIn(
                getattr(titles, person.role.value),
                staff.name,
                staff.email,
                password if staff.password_hash else None,
                code,
                left,
                used,
            )
        )
    return result
