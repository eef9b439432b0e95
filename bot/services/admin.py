"""Admin use cases behind the CLI (and later the dashboard): staff, cohorts, participants,
attendance. Each function is one transaction and writes an audit entry."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import (
    AppState,
    Attendance,
    CatchUp,
    CatchUpBooking,
    Cohort,
    CohortStaff,
    EnrolmentCode,
    Participant,
    ScheduledSession,
    Staff,
    StaffToken,
)
from bot.domain import enrolment
from bot.domain.attendance import (
    AttendanceSummary,
    Outcome,
    check_catch_up_allowed,
    check_session_number,
)
from bot.domain.errors import Conflict, InvalidInput, NotFound
from bot.domain.roles import Role, can_take_attendance
from bot.domain.schedule import plan_weekly_sessions
from bot.services.context import ServiceContext, audit
from bot.services.notices import flag_restart_if_needed, staff_by_email
from bot.services.progress import load_summary

BOT_USERNAME_KEY = "bot_username"
# Set by `companion demo` (bot.demo.data) on a database that holds invented people only.
DEMO_DATA_KEY = "demo_data"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")


@dataclass(frozen=True, slots=True)
class StaffView:
    id: int
    email: str
    name: str
    role: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class SessionView:
    number: int
    starts_at: datetime  # local time
    moved_from: date | None


@dataclass(frozen=True, slots=True)
class CohortView:
    id: int
    name: str
    venue: str | None
    sessions: list[SessionView]


@dataclass(frozen=True, slots=True)
class CodeView:
    reference: str
    code: str  # shown once, never stored
    expires_at: datetime
    link: str | None


@dataclass(frozen=True, slots=True)
class ParticipantView:
    reference: str
    name: str
    cohort: str
    offender_manager: str
    language: str | None
    # More sessions missed than catch-ups allowed: staff must talk to him about a restart.
    restart_flagged: bool = False


def _clean_name(name: str, *, cohort: bool = False) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 120:
        if cohort:
            raise InvalidInput("The cohort name must be 1 to 120 characters long.")
        raise InvalidInput("The name must be 1 to 120 characters long.")
    return cleaned


async def add_staff(
    ctx: ServiceContext, actor: str, email: str, name: str, role: str, phone: str | None
) -> StaffView:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput("{email!r} is not an email address.", email=email)
    try:
        staff_role = Role(role)
    except ValueError as error:
        roles = ", ".join(r.value for r in Role)
        # Translators: {roles} are the codes to type, e.g. "offender_manager, facilitator".
        raise InvalidInput(
            "Unknown role {role!r}: use one of {roles}.", role=role, roles=roles
        ) from error
    if phone is not None and not _PHONE.match(phone.strip()):
        raise InvalidInput("{phone!r} is not a phone number.", phone=phone)
    async with ctx.uow() as session:
        if await session.scalar(select(Staff.id).where(Staff.email == email)) is not None:
            raise Conflict("A member of staff with email {email} already exists.", email=email)
        staff = Staff(
            email=email,
            name=_clean_name(name),
            role=staff_role,
            phone=phone.strip() if phone else None,
        )
        session.add(staff)
        await session.flush()
        audit(session, actor, "staff.add", f"staff:{staff.id}", role=staff_role.value)
        await session.commit()
    return StaffView(staff.id, staff.email, staff.name, staff.role.value, staff.phone)


async def set_staff_active(ctx: ServiceContext, actor: str, email: str, active: bool) -> StaffView:
    """Disable (or re-enable) an account. A disabled one cannot sign in, its dashboard
    sessions end at their next request, and it gets no notices."""
    async with ctx.uow() as session:
        staff = await _staff(session, email)
        if staff.active == active:
            if active:
                raise Conflict("{email} is already active.", email=staff.email)
            raise Conflict("{email} is already disabled.", email=staff.email)
        staff.active = active
        if not active:
            # Unused password links die with the account; re-enabling needs a new one.
            await session.execute(
                update(StaffToken)
                .where(StaffToken.staff_id == staff.id, StaffToken.used_at.is_(None))
                .values(used_at=ctx.now())
            )
        audit(session, actor, "staff.enable" if active else "staff.disable", f"staff:{staff.id}")
        await session.commit()
    return StaffView(staff.id, staff.email, staff.name, staff.role.value, staff.phone)


async def add_cohort(
    ctx: ServiceContext,
    actor: str,
    name: str,
    first_session: date,
    start_time: time,
    venue: str | None,
) -> CohortView:
    name = _clean_name(name, cohort=True)
    programme = ctx.profile.programme
    planned = plan_weekly_sessions(
        first_session,
        start_time,
        programme.sessions_required,
        ctx.profile.working_calendar(),
        ctx.profile.zone,
    )
    async with ctx.uow() as session:
        if await session.scalar(select(Cohort.id).where(Cohort.name == name)) is not None:
            raise Conflict("A cohort called {name!r} already exists.", name=name)
        cohort = Cohort(name=name, venue=venue)
        session.add(cohort)
        await session.flush()
        session.add_all(
            ScheduledSession(
                cohort_id=cohort.id,
                number=p.number,
                starts_at=p.starts_at_utc,
                duration_minutes=programme.session_minutes,
                venue=venue,
            )
            for p in planned
        )
        audit(session, actor, "cohort.add", f"cohort:{cohort.id}", first=first_session.isoformat())
        await session.commit()
    zone = ctx.profile.zone
    return CohortView(
        cohort.id,
        cohort.name,
        venue,
        [SessionView(p.number, p.starts_at_utc.astimezone(zone), p.moved_from) for p in planned],
    )


async def add_cohort_facilitator(
    ctx: ServiceContext, actor: str, cohort_name: str, email: str
) -> None:
    """A facilitator who runs this cohort's sessions (participants can name them)."""
    async with ctx.uow() as session:
        cohort = await session.scalar(select(Cohort).where(Cohort.name == cohort_name))
        if cohort is None:
            raise NotFound("There is no cohort called {name!r}.", name=cohort_name)
        staff = await _staff(session, email)
        if staff.role is not Role.FACILITATOR or not staff.active:
            raise InvalidInput("{email} is not an active facilitator.", email=staff.email)
        if await session.get(CohortStaff, (cohort.id, staff.id)) is not None:
            raise Conflict(
                "{email} already runs cohort {cohort!r}.", email=staff.email, cohort=cohort.name
            )
        session.add(CohortStaff(cohort_id=cohort.id, staff_id=staff.id))
        audit(session, actor, "cohort.add_facilitator", f"cohort:{cohort.id}", staff=staff.id)
        await session.commit()


async def add_participant(
    ctx: ServiceContext,
    actor: str,
    name: str,
    cohort_name: str,
    offender_manager_email: str,
    language: str | None,
    bot_username: str | None,
) -> tuple[ParticipantView, CodeView]:
    name = _clean_name(name)
    if language is not None:
        matched = ctx.catalogs.match(language)
        if matched is None:
            available = ", ".join(ctx.catalogs.languages)
            raise InvalidInput(
                "Language {language!r} is not available: use one of {available}.",
                language=language,
                available=available,
            )
        language = matched
    async with ctx.uow() as session:
        cohort = await session.scalar(select(Cohort).where(Cohort.name == cohort_name))
        if cohort is None:
            raise NotFound("There is no cohort called {name!r}.", name=cohort_name)
        om = await _staff(session, offender_manager_email)
        if om.role is not Role.OFFENDER_MANAGER or not om.active:
            raise InvalidInput("{email} is not an active Offender Manager.", email=om.email)
        participant = Participant(
            reference=await _new_reference(session),
            name=name,
            cohort_id=cohort.id,
            offender_manager_id=om.id,
            language=language,
        )
        session.add(participant)
        await session.flush()
        code = await _issue_code(ctx, session, participant, bot_username)
        audit(session, actor, "participant.add", f"participant:{participant.id}")
        await session.commit()
    view = ParticipantView(participant.reference, name, cohort.name, om.email, language)
    return view, code


async def issue_code(
    ctx: ServiceContext, actor: str, reference: str, bot_username: str | None
) -> CodeView:
    """A fresh enrolment code; earlier unused codes stop working."""
    async with ctx.uow() as session:
        participant = await _participant(session, reference)
        code = await _issue_code(ctx, session, participant, bot_username)
        audit(session, actor, "participant.code", f"participant:{participant.id}")
        await session.commit()
    return code


async def _issue_code(
    ctx: ServiceContext, session: AsyncSession, participant: Participant, bot_username: str | None
) -> CodeView:
    code, expires_at, link = await _new_code(
        ctx, session, bot_username, participant_id=participant.id
    )
    return CodeView(participant.reference, code, expires_at, link)


async def issue_staff_code(
    ctx: ServiceContext, actor: str, email: str, bot_username: str | None
) -> CodeView:
    """A code a member of staff sends to the bot to get notices about their caseload by
    Telegram; earlier unused codes stop working."""
    async with ctx.uow() as session:
        staff = await _staff(session, email)
        if not staff.active:
            raise InvalidInput("{email} is not an active member of staff.", email=staff.email)
        code, expires_at, link = await _new_code(ctx, session, bot_username, staff_id=staff.id)
        audit(session, actor, "staff.telegram_code", f"staff:{staff.id}")
        await session.commit()
    return CodeView(staff.email, code, expires_at, link)


async def _new_code(
    ctx: ServiceContext,
    session: AsyncSession,
    bot_username: str | None,
    *,
    participant_id: int | None = None,
    staff_id: int | None = None,
) -> tuple[str, datetime, str | None]:
    """A fresh code for a participant or a member of staff, stored only as a keyed hash;
    their earlier unused codes stop working. Returns it for display, its expiry and link."""
    now = ctx.now()
    owner = (
        EnrolmentCode.participant_id == participant_id
        if participant_id is not None
        else EnrolmentCode.staff_id == staff_id
    )
    earlier = await session.scalars(
        select(EnrolmentCode).where(
            owner, EnrolmentCode.used_at.is_(None), EnrolmentCode.revoked_at.is_(None)
        )
    )
    for old in earlier:
        old.revoked_at = now
    code = enrolment.new_code()
    expires_at = now + timedelta(days=ctx.profile.programme.enrolment_code_days)
    session.add(
        EnrolmentCode(
            participant_id=participant_id,
            staff_id=staff_id,
            code_hash=enrolment.hash_code(code, ctx.secret_key),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return enrolment.display_code(code), expires_at, enrolment_link(ctx, bot_username, code)


def enrolment_link(ctx: ServiceContext, bot_username: str | None, code: str) -> str | None:
    """The link that opens the chat with the code: Telegram's deep link, or in demo mode the
    demo's own phone page (so nothing in the demo leads to real Telegram)."""
    if ctx.enrolment_link_base:
        return f"{ctx.enrolment_link_base}{code}"
    return f"https://t.me/{bot_username}?start={code}" if bot_username else None


async def _staff(session: AsyncSession, email: str) -> Staff:
    staff = await session.scalar(select(Staff).where(Staff.email == email.strip().lower()))
    if staff is None:
        raise NotFound("There is no member of staff with email {email}.", email=email)
    return staff


async def _new_reference(session: AsyncSession) -> str:
    for _ in range(10):
        reference = "P-" + "".join(secrets.choice(enrolment.ALPHABET) for _ in range(6))
        taken = await session.scalar(
            select(Participant.id).where(Participant.reference == reference)
        )
        if taken is None:
            return reference
    raise Conflict("Could not find a free participant reference; try again.")


async def _participant(session: AsyncSession, reference: str) -> Participant:
    participant = await session.scalar(
        select(Participant)
        .where(Participant.reference == reference.strip().upper())
        .options(
            selectinload(Participant.cohort).selectinload(Cohort.sessions),
            selectinload(Participant.offender_manager),
        )
    )
    if participant is None:
        raise NotFound("There is no participant with reference {reference}.", reference=reference)
    return participant


def _session_number(participant: Participant, number: int) -> ScheduledSession:
    for scheduled in participant.cohort.sessions:
        if scheduled.number == number:
            return scheduled
    raise InvalidInput(
        "Session number {number} is out of range: cohort {cohort} has {count} sessions.",
        number=number,
        cohort=participant.cohort.name,
        count=len(participant.cohort.sessions),
    )


# Outcomes that record an Offender Manager's decision on an absence.
DECIDED_BY_OM = (Outcome.ABSENT_ACCEPTABLE, Outcome.ABSENT_UNACCEPTABLE)

ATTENDANCE_CHOICES = {
    "attended": Outcome.ATTENDED,
    "missed": Outcome.ABSENT,
    "failed-to-comply": Outcome.FAILED_TO_COMPLY,
}


async def record_attendance(
    ctx: ServiceContext, actor: str, reference: str, session_number: int, outcome: Outcome
) -> AttendanceSummary:
    """Record (or correct) one participant's outcome for one session."""
    check_session_number(ctx.profile.rules, session_number)
    async with ctx.uow() as session:
        participant = await _participant(session, reference)
        scheduled = _session_number(participant, session_number)
        await _record_outcome(ctx, session, actor, participant, scheduled, outcome)
        summary = await load_summary(session, ctx.profile.rules, participant.id)
        await session.commit()
    ctx.on_outbox_written()
    return summary


@dataclass(frozen=True, slots=True)
class RegisterRow:
    reference: str
    first_name: str
    outcome: Outcome | None


@dataclass(frozen=True, slots=True)
class SessionRegister:
    cohort_id: int
    cohort: str
    number: int
    starts_at: datetime  # local time
    started: bool
    rows: list[RegisterRow]


async def session_register(
    ctx: ServiceContext, viewer_email: str, cohort_id: int, number: int
) -> SessionRegister:
    """Everyone in the cohort and what is recorded for them at this session."""
    async with ctx.uow() as session:
        cohort, scheduled = await _cohort_session(session, viewer_email, cohort_id, number)
        participants = list(
            await session.scalars(
                select(Participant)
                .where(Participant.cohort_id == cohort.id)
                .order_by(Participant.name)
            )
        )
        outcomes = dict(
            (
                await session.execute(
                    select(Attendance.participant_id, Attendance.outcome).where(
                        Attendance.session_id == scheduled.id
                    )
                )
            ).all()
        )
    return SessionRegister(
        cohort.id,
        cohort.name,
        number,
        scheduled.starts_at.astimezone(ctx.profile.zone),
        scheduled.starts_at <= ctx.now(),
        [RegisterRow(p.reference, p.name, outcomes.get(p.id)) for p in participants],
    )


async def record_session(
    ctx: ServiceContext,
    viewer_email: str,
    cohort_id: int,
    number: int,
    outcomes: dict[str, Outcome],
) -> int:
    """A whole session's attendance in one go (one transaction); returns how many changed."""
    async with ctx.uow() as session:
        cohort, scheduled = await _cohort_session(session, viewer_email, cohort_id, number)
        if scheduled.starts_at > ctx.now():
            raise InvalidInput("Session {number} has not started yet.", number=number)
        viewer = await staff_by_email(session, viewer_email)
        members = {
            p.reference: p
            for p in await session.scalars(
                select(Participant)
                .where(Participant.cohort_id == cohort.id)
                .options(selectinload(Participant.offender_manager))
            )
        }
        decided = dict(
            (
                await session.execute(
                    select(Attendance.participant_id, Attendance.outcome).where(
                        Attendance.session_id == scheduled.id,
                        Attendance.outcome.in_(DECIDED_BY_OM),
                    )
                )
            ).all()
        )
        changed = 0
        for reference, outcome in outcomes.items():
            participant = members.get(reference)
            if participant is None:
                raise InvalidInput(
                    "{reference} is not in {cohort}.", reference=reference, cohort=cohort.name
                )
            overrides_decision = (
                participant.id in decided and decided[participant.id] is not outcome
            )
            if overrides_decision and viewer.role is not Role.ADMIN:
                raise Conflict(
                    "{name}'s absence was decided by the Offender Manager; "
                    "only they (or an admin) can change it.",
                    name=participant.name,
                )
            if await _record_outcome(
                ctx, session, f"staff:{viewer.id}", participant, scheduled, outcome
            ):
                changed += 1
        await session.commit()
    ctx.on_outbox_written()
    return changed


async def _cohort_session(
    session: AsyncSession, viewer_email: str, cohort_id: int, number: int
) -> tuple[Cohort, ScheduledSession]:
    """The cohort's session, if the viewer runs the cohort (or is an admin)."""
    viewer = await staff_by_email(session, viewer_email)
    cohort = await session.get(Cohort, cohort_id)
    runs = set(
        await session.scalars(
            select(CohortStaff.staff_id).where(CohortStaff.cohort_id == cohort_id)
        )
    )
    if cohort is None or not can_take_attendance(viewer.id, viewer.role, runs):
        raise NotFound("There is no cohort {id} you run.", id=cohort_id)
    scheduled = await session.scalar(
        select(ScheduledSession).where(
            ScheduledSession.cohort_id == cohort.id, ScheduledSession.number == number
        )
    )
    if scheduled is None:
        raise NotFound(
            "Cohort {cohort} has no session {number}.", cohort=cohort.name, number=number
        )
    return cohort, scheduled


async def _record_outcome(
    ctx: ServiceContext,
    session: AsyncSession,
    actor: str,
    participant: Participant,
    scheduled: ScheduledSession,
    outcome: Outcome,
) -> bool:
    """Record one outcome (audited); False when it was already so."""
    existing = await session.scalar(
        select(Attendance).where(
            Attendance.participant_id == participant.id,
            Attendance.session_id == scheduled.id,
        )
    )
    if existing is not None and existing.outcome is outcome:
        return False
    if existing is not None and not outcome.uses_catch_up:
        caught_up = await session.scalar(
            select(CatchUp.id).where(
                CatchUp.participant_id == participant.id, CatchUp.session_id == scheduled.id
            )
        )
        if caught_up is not None:
            raise Conflict(
                "Session {number} already has a catch-up recorded for {reference}, "
                "so it cannot be changed to attended.",
                number=scheduled.number,
                reference=participant.reference,
            )
    previous = existing.outcome.value if existing is not None else None
    if existing is None:
        session.add(
            Attendance(participant_id=participant.id, session_id=scheduled.id, outcome=outcome)
        )
    else:
        existing.outcome = outcome
        existing.recorded_at = ctx.now()
    audit(
        session,
        actor,
        "attendance.record",
        f"participant:{participant.id}",
        session=scheduled.number,
        outcome=outcome.value,
        previous=previous,
    )
    await session.flush()
    if outcome.uses_catch_up:
        await flag_restart_if_needed(ctx, session, participant)
    return True


async def cohorts_run_by(ctx: ServiceContext, viewer_email: str) -> list[CohortView]:
    """The cohorts this person takes attendance for (all of them for an admin)."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        query = select(Cohort).order_by(Cohort.name).options(selectinload(Cohort.sessions))
        if viewer.role is not Role.ADMIN:
            query = query.join(CohortStaff, CohortStaff.cohort_id == Cohort.id).where(
                CohortStaff.staff_id == viewer.id
            )
        zone = ctx.profile.zone
        return [
            CohortView(
                c.id,
                c.name,
                c.venue,
                [SessionView(s.number, s.starts_at.astimezone(zone), None) for s in c.sessions],
            )
            for c in await session.scalars(query)
        ]


async def record_catch_up(
    ctx: ServiceContext, actor: str, reference: str, for_session: int, completed_on: date
) -> AttendanceSummary:
    """Record a completed catch-up for a missed session."""
    check_session_number(ctx.profile.rules, for_session)
    async with ctx.uow() as session:
        participant = await _participant(session, reference)
        scheduled = _session_number(participant, for_session)
        outcomes = {
            a.session.number: a.outcome
            for a in await session.scalars(
                select(Attendance)
                .where(Attendance.participant_id == participant.id)
                .options(selectinload(Attendance.session))
            )
        }
        check_catch_up_allowed(outcomes, for_session)
        session.add(
            CatchUp(
                participant_id=participant.id,
                session_id=scheduled.id,
                completed_on=completed_on,
            )
        )
        try:
            await session.flush()
        except IntegrityError as error:
            raise Conflict(
                "A catch-up for session {number} is already recorded.", number=for_session
            ) from error
        audit(
            session,
            actor,
            "catchup.record",
            f"participant:{participant.id}",
            session=for_session,
        )
        summary = await load_summary(session, ctx.profile.rules, participant.id)
        await session.commit()
    return summary


async def book_catch_up(
    ctx: ServiceContext,
    actor: str,
    reference: str,
    for_session: int,
    starts_at: datetime,
    venue: str | None,
) -> datetime:
    """Book the catch-up for a missed session (it is reminded like a group session).

    `starts_at` is in the area's local time; booking again moves it. Returns the local start.
    """
    check_session_number(ctx.profile.rules, for_session)
    if starts_at.tzinfo is None:
        starts_at = _local_instant(starts_at, ctx.profile.zone)
    if starts_at <= ctx.now():
        raise InvalidInput("A catch-up can only be booked for a time still to come.")
    async with ctx.uow() as session:
        participant = await _participant(session, reference)
        scheduled = _session_number(participant, for_session)
        missed = await session.scalar(
            select(Attendance.outcome).where(
                Attendance.participant_id == participant.id, Attendance.session_id == scheduled.id
            )
        )
        check_catch_up_allowed({for_session: missed} if missed else {}, for_session)
        booking = await session.scalar(
            select(CatchUpBooking).where(
                CatchUpBooking.participant_id == participant.id,
                CatchUpBooking.session_id == scheduled.id,
            )
        )
        if booking is None:
            booking = CatchUpBooking(participant_id=participant.id, session_id=scheduled.id)
            session.add(booking)
        booking.starts_at, booking.venue, booking.booked_at = starts_at, venue, ctx.now()
        await session.flush()
        audit(
            session,
            actor,
            "catchup.book",
            f"participant:{participant.id}",
            session=for_session,
            starts_at=starts_at.isoformat(),
        )
        await session.commit()
    return starts_at.astimezone(ctx.profile.zone)


def _local_instant(wall_time: datetime, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as an instant; refuses the hour skipped when clocks go forward."""
    instant = wall_time.replace(tzinfo=zone)
    if instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall_time:
        raise InvalidInput(
            "{time} does not exist in {zone}: the clocks go forward then. Choose another time.",
            time=wall_time.strftime("%Y-%m-%d %H:%M"),
            zone=zone.key,
        )
    return instant


async def telegram_linked(ctx: ServiceContext, email: str) -> bool:
    async with ctx.uow() as session:
        return (await staff_by_email(session, email)).telegram_chat_id is not None


async def bot_username(ctx: ServiceContext) -> str | None:
    """For t.me links: the configured username, or the one the running bot learnt."""
    if ctx.bot_username:
        return ctx.bot_username
    async with ctx.uow() as session:
        value: str | None = await session.scalar(
            select(AppState.value).where(AppState.key == BOT_USERNAME_KEY)
        )
        return value


async def holds_demo_data(ctx: ServiceContext) -> bool:
    """Whether `companion demo` wrote this database (even if it stopped part way)."""
    async with ctx.uow() as session:
        mark = await session.scalar(select(AppState.key).where(AppState.key == DEMO_DATA_KEY))
        return mark is not None


@dataclass(frozen=True, slots=True)
class StaffAccount:
    id: int
    email: str
    name: str
    role: Role
    active: bool
    password_set: bool
    second_factor: bool
    telegram_linked: bool


async def _admin(session: AsyncSession, email: str) -> Staff:
    viewer = await staff_by_email(session, email)
    if viewer.role is not Role.ADMIN:
        raise NotFound("There is no such page.")
    return viewer


async def staff_accounts(ctx: ServiceContext, viewer_email: str) -> list[StaffAccount]:
    """Every account and how far it is set up; for admins."""
    async with ctx.uow() as session:
        await _admin(session, viewer_email)
        rows = await session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.name))
        return [
            StaffAccount(
                s.id,
                s.email,
                s.name,
                s.role,
                s.active,
                s.password_hash is not None,
                s.totp_confirmed_at is not None,
                s.telegram_chat_id is not None,
            )
            for s in rows
        ]


async def set_staff_role(ctx: ServiceContext, actor: str, email: str, role: str) -> StaffView:
    """Change someone's role; refused while work still hangs on the old one (a caseload,
    cohorts they run), so nothing is left with nobody."""
    try:
        new_role = Role(role)
    except ValueError as error:
        raise InvalidInput("Unknown role {role!r}.", role=role) from error
    async with ctx.uow() as session:
        staff = await _staff(session, email)
        if staff.role is new_role:
            # Translators: {role} stays in English, e.g. "offender manager" or "admin".
            raise Conflict(
                "{email} is already {role}.",
                email=staff.email,
                role=new_role.value.replace("_", " "),
            )
        caseload = await session.scalar(
            select(Participant.id).where(Participant.offender_manager_id == staff.id).limit(1)
        )
        runs = await session.scalar(
            select(CohortStaff.cohort_id).where(CohortStaff.staff_id == staff.id).limit(1)
        )
        if caseload is not None or runs is not None:
            raise Conflict(
                "{email} still has participants or cohorts; move them to someone else first.",
                email=staff.email,
            )
        old = staff.role
        # Their dashboard reads the role on every request, so it applies at once.
        staff.role = new_role
        audit(session, actor, "staff.role", f"staff:{staff.id}", old=old.value, new=role)
        await session.commit()
    return StaffView(staff.id, staff.email, staff.name, staff.role.value, staff.phone)


async def list_staff(ctx: ServiceContext) -> list[StaffView]:
    async with ctx.uow() as session:
        rows = await session.scalars(select(Staff).order_by(Staff.name))
        return [StaffView(s.id, s.email, s.name, s.role.value, s.phone) for s in rows]


async def list_cohorts(ctx: ServiceContext) -> list[CohortView]:
    zone = ctx.profile.zone
    async with ctx.uow() as session:
        rows = await session.scalars(
            select(Cohort).order_by(Cohort.name).options(selectinload(Cohort.sessions))
        )
        return [
            CohortView(
                c.id,
                c.name,
                c.venue,
                [SessionView(s.number, s.starts_at.astimezone(zone), None) for s in c.sessions],
            )
            for c in rows
        ]


async def list_participants(
    ctx: ServiceContext, cohort_name: str | None = None
) -> list[ParticipantView]:
    async with ctx.uow() as session:
        query = (
            select(Participant, Cohort.name, Staff.email)
            .join(Cohort, Participant.cohort_id == Cohort.id)
            .join(Staff, Participant.offender_manager_id == Staff.id)
            .order_by(Participant.reference)
        )
        if cohort_name is not None:
            query = query.where(Cohort.name == cohort_name)
        rows = await session.execute(query)
        return [
            ParticipantView(
                p.reference,
                p.name,
                cohort,
                om_email,
                p.language,
                restart_flagged=p.restart_flagged_at is not None,
            )
            for p, cohort, om_email in rows
        ]
