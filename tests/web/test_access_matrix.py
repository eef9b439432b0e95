"""The access matrix (issue 5): every dashboard route × every role × own/other caseload.

One world on SQLite, built once through the services (ORM rows where only the bot creates
them): two OMs, two facilitators, two SPOs, two admins, a Chief Officer and a Contracts
Officer; two cohorts, a participant in each caseload, absences, files, complaints (one about
an SPO, one about an admin), format requests, a saved reply per role.
Each person signs in once; then every route is called for every person and every case,
and the answer must be the one the table says: allowed, or a 404 as if the item did not
exist (URL guessing), a 403 where that is the rule, and never a 5xx.

The table is written out by hand from RULES.md and the role rules, not computed from
`bot/domain`, so a change to a rule shows up here as a decision to make. A route the table
does not know fails `test_every_route_is_in_the_matrix`.

State-changing POSTs send forms that are authorised but invalid (an empty note, an unknown
decision, a colleague who does not exist, ...), which answer 400 when the person may act on
the item and 404 when not, so the world stays the same whatever the order. Where a real
change is the point (removing a saved reply) each call gets a fresh item of its own.
Sign-in, set-password, the language switch, static files and /healthz are outside the matrix
(PUBLIC_ROUTES).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from bot.app import build_core
from bot.config import EXAMPLE_PROFILE, load_profile
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.db.models import (
    AbsenceReport,
    Attachment,
    AuditEntry,
    Complaint,
    FormatRequest,
    Participant,
    ScheduledSession,
    Staff,
)
from bot.domain import complaints as complaint_rules
from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.complaints import About, Category, Status
from bot.domain.roles import Role
from bot.services import admin, saved_replies
from handlers.web.app import make_web_app
from tests.conftest import FakeClock, make_settings
from tests.web.conftest import ACTOR, PASSWORD, Dashboard, csrf

# One event loop for the module, so the world and the signed-in browsers are made once.
pytestmark = pytest.mark.asyncio(loop_scope="module")

# --- who --------------------------------------------------------------------------------------

OM1, OM2 = "om1", "om2"  # OM1's caseload is in cohort A, OM2's in cohort B
FAC_A, FAC_B = "fac_a", "fac_b"  # run cohort A and cohort B
SPO1, SPO2 = "spo1", "spo2"  # a complaint is about SPO1
CHIEF, CO = "chief", "co"
ADMIN1, ADMIN2 = "admin1", "admin2"  # a complaint is about ADMIN1

PERSONAS: dict[str, Role] = {
    OM1: Role.OFFENDER_MANAGER,
    OM2: Role.OFFENDER_MANAGER,
    FAC_A: Role.FACILITATOR,
    FAC_B: Role.FACILITATOR,
    SPO1: Role.SENIOR_PROBATION_OFFICER,
    SPO2: Role.SENIOR_PROBATION_OFFICER,
    CHIEF: Role.CHIEF_OFFICER,
    CO: Role.CONTRACTS_OFFICER,
    ADMIN1: Role.ADMIN,
    ADMIN2: Role.ADMIN,
}
EVERYONE = frozenset(PERSONAS)
ADMINS = frozenset({ADMIN1, ADMIN2})
NOBODY: frozenset[str] = frozenset()


def email(persona: str) -> str:
    return f"{persona}@example.org"


COHORT_A, COHORT_B = "Thursday A", "Tuesday B"

# Fixed references for the rows inserted directly, so the queue pages can be searched.
C_STAGE1 = "C-UNFR1"  # unfair treatment, stage 1 (SPO queue), participant A
C_STAGE2 = "C-STG2B"  # stage 2 (Chief Officer queue), participant B
C_DISC_A = "C-DSCA1"  # discrimination concern, OM queue, assigned to OM1 (participant A)
C_DISC_B = "C-DSCB2"  # discrimination concern, OM queue, assigned to OM2 (participant B)
C_ABOUT_SPO = "C-ABSPO"  # unfair treatment by SPO1, stage 1 (participant B)
C_ABOUT_ADMIN = "C-ABADM"  # unfair treatment by ADMIN1, stage 1 (participant A)
F_A, F_B = "F-FMTA1", "F-FMTB2"

MISSING_NUMBER = "987654321"
MISSING_COMPLAINT = "C-ZZZZZ"
MISSING_PARTICIPANT = "P-ZZZZZZ"

# --- who may see what (RULES.md and bot/domain/roles.py, written out) -------------------------
# Items ending in _a belong to OM1's caseload in cohort A (their own for OM1 and FAC_A, the
# other caseload for OM2 and FAC_B); items ending in _b the other way round. abs_x is in
# OM2's caseload but assigned to OM1; the complaints are listed by what decides who sees them.

# Absence reports: his OM, an OM colleague asked to take it, admins.
SEES_ABSENCE = {
    "abs_a": frozenset({OM1}) | ADMINS,
    "abs_b": frozenset({OM2}) | ADMINS,
    "abs_x": frozenset({OM1, OM2}) | ADMINS,  # OM2's caseload, assigned to OM1
}
# Complaints: stage 1 for SPOs, stage 2 for the Chief Officer, a concern for the OM it is
# assigned to (and SPOs), everything for admins; never the person it is about.
SEES_COMPLAINT = {
    "c1": frozenset({SPO1, SPO2}) | ADMINS,
    "c2": frozenset({CHIEF}) | ADMINS,
    "cda": frozenset({OM1, SPO1, SPO2}) | ADMINS,
    "cdb": frozenset({OM2, SPO1, SPO2}) | ADMINS,
    "cspo": frozenset({SPO2}) | ADMINS,
    "cadmin": frozenset({SPO1, SPO2, ADMIN2}),
}
SEES_FORMAT = {"fr_a": frozenset({CO}) | ADMINS, "fr_b": frozenset({CO}) | ADMINS}
# A file is seen by whoever may see what it belongs to.
SEES_FILE = {
    "file_a": SEES_ABSENCE["abs_a"],
    "file_b": SEES_ABSENCE["abs_b"],
    "file_x": SEES_ABSENCE["abs_x"],
    "file_cspo": SEES_COMPLAINT["cspo"],
    "file_cadmin": SEES_COMPLAINT["cadmin"],
}
# His record: his OM, his cohort's facilitators, admins; bookings only the facilitators
# and admins; a register only the cohort's facilitators and admins.
SEES_PARTICIPANT = {"pa": frozenset({OM1, FAC_A}) | ADMINS, "pb": frozenset({OM2, FAC_B}) | ADMINS}
BOOKS_FOR = {"pa": frozenset({FAC_A}) | ADMINS, "pb": frozenset({FAC_B}) | ADMINS}
RUNS = {"cohort_a": frozenset({FAC_A}) | ADMINS, "cohort_b": frozenset({FAC_B}) | ADMINS}


# --- the world --------------------------------------------------------------------------------


@dataclass
class Browser:
    client: aiohttp.ClientSession
    token: str  # the session's CSRF token


@dataclass
class World:
    board: Dashboard
    ids: dict[str, str]  # placeholders for the URLs: item ids and references
    staff_ids: dict[str, int]
    browsers: dict[str, Browser] = field(default_factory=dict)
    anonymous: Browser | None = None  # an anonymous session: a CSRF token, nobody signed in
    half: Browser | None = None  # OM1 after the password, before the code
    cookieless: aiohttp.ClientSession | None = None


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp: Path = tmp_path_factory.mktemp("matrix")
    url = f"sqlite+aiosqlite:///{tmp / 'companion.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    clock = FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # before either cohort starts
    core = build_core(make_settings(url, tmp), load_profile(EXAMPLE_PROFILE))
    core.services.clock = clock
    server = TestServer(make_web_app(core.services), host="127.0.0.1")
    await server.start_server()
    board = Dashboard(core, clock, server)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(core.close)
        stack.push_async_callback(server.close)
        world = await _seed(board)
        for persona in PERSONAS:
            client = await stack.enter_async_context(board.client())
            await board.sign_in(client, email(persona))
            page = await client.get("/")
            world.browsers[persona] = Browser(client, csrf(await page.text()))
        anonymous = await stack.enter_async_context(board.client())
        page = await anonymous.get("/sign-in")
        world.anonymous = Browser(anonymous, csrf(await page.text()))
        half = await stack.enter_async_context(board.client())
        page = await half.get("/sign-in")
        answer = await half.post(
            "/sign-in",
            data={"csrf_token": csrf(await page.text()), "email": email(OM1), "password": PASSWORD},
            allow_redirects=False,
        )
        assert answer.headers["Location"] == "/sign-in/code"
        page = await half.get("/sign-in/code")
        world.half = Browser(half, csrf(await page.text()))
        world.cookieless = await stack.enter_async_context(board.client())
        yield world


async def _seed(board: Dashboard) -> World:
    ctx = board.core.services
    for persona, role in PERSONAS.items():
        await board.add_staff(email(persona), role.value, f"{persona.title()} Fictional")
    cohort_a = await admin.add_cohort(ctx, ACTOR, COHORT_A, date(2026, 12, 3), time(18), "Room 2")
    cohort_b = await admin.add_cohort(ctx, ACTOR, COHORT_B, date(2026, 12, 1), time(18), "Room 3")
    await admin.add_cohort_facilitator(ctx, ACTOR, COHORT_A, email(FAC_A))
    await admin.add_cohort_facilitator(ctx, ACTOR, COHORT_B, email(FAC_B))
    pa, _ = await admin.add_participant(ctx, ACTOR, "Sam", COHORT_A, email(OM1), None, None)
    pb, _ = await admin.add_participant(ctx, ACTOR, "Alex", COHORT_B, email(OM2), None, None)
    kept = [
        await saved_replies.add_reply(
            ctx, email(ADMIN1), f"Saved {role.value}", f"Words for {role.value}.", role
        )
        for role in Role
    ]
    now = board.clock.now
    profile = board.core.profile
    async with ctx.uow() as session:
        staff_ids = {
            s.email.split("@")[0]: s.id
            for s in await session.scalars(select(Staff))
            if s.email.split("@")[0] in PERSONAS
        }
        people = {p.reference: p for p in await session.scalars(select(Participant))}
        sam, alex = people[pa.reference], people[pb.reference]

        async def scheduled(cohort_id: int, number: int) -> int:
            found = await session.scalar(
                select(ScheduledSession.id).where(
                    ScheduledSession.cohort_id == cohort_id, ScheduledSession.number == number
                )
            )
            assert found is not None
            return found

        def absence(
            participant: Participant, session_id: int, assignee: str | None
        ) -> AbsenceReport:
            # Not an illness, so "sick note received" is refused (400) for those allowed.
            return AbsenceReport(
                participant_id=participant.id,
                session_id=session_id,
                reason=Reason.WORK,
                details="A shift at work",
                status=AbsenceStatus.REPORTED,
                reported_at=now,
                assignee_id=staff_ids[assignee] if assignee else None,
            )

        abs_a = absence(sam, await scheduled(cohort_a.id, 1), None)
        abs_b = absence(alex, await scheduled(cohort_b.id, 1), None)
        abs_x = absence(alex, await scheduled(cohort_b.id, 2), OM1)

        def complaint(
            reference: str,
            participant: Participant,
            category: Category,
            *,
            stage: int = 1,
            queue: Role = Role.SENIOR_PROBATION_OFFICER,
            assignee: str | None = None,
            about: str | None = None,
        ) -> Complaint:
            due = complaint_rules.deadlines(
                now.date(), stage, profile.working_calendar(), profile.complaint_rules
            )
            # Acknowledged already, so "acknowledge" is refused (400) for those allowed.
            return Complaint(
                reference=reference,
                participant_id=participant.id,
                category=category,
                about=About.STAFF if about else About.NOT_SAID,
                about_staff_id=staff_ids[about] if about else None,
                stage=stage,
                status=Status.ACKNOWLEDGED,
                queue=queue,
                assignee_id=staff_ids[assignee] if assignee else None,
                received_at=now,
                acknowledged_at=now,
                acknowledge_due=due.acknowledge_by,
                reply_due=due.reply_by,
            )

        complaints = {
            "c1": complaint(C_STAGE1, sam, Category.UNFAIR),
            "c2": complaint(C_STAGE2, alex, Category.UNFAIR, stage=2, queue=Role.CHIEF_OFFICER),
            "cda": complaint(
                C_DISC_A,
                sam,
                Category.DISCRIMINATION_GROUP,
                queue=Role.OFFENDER_MANAGER,
                assignee=OM1,
            ),
            "cdb": complaint(
                C_DISC_B,
                alex,
                Category.DISCRIMINATION_GROUP,
                queue=Role.OFFENDER_MANAGER,
                assignee=OM2,
            ),
            "cspo": complaint(C_ABOUT_SPO, alex, Category.UNFAIR, about=SPO1),
            "cadmin": complaint(C_ABOUT_ADMIN, sam, Category.UNFAIR, about=ADMIN1),
        }
        formats = {
            "fr_a": FormatRequest(
                reference=F_A, participant_id=sam.id, format="braille", requested_at=now
            ),
            "fr_b": FormatRequest(
                reference=F_B, participant_id=alex.id, format="large_print", requested_at=now
            ),
        }
        session.add_all([abs_a, abs_b, abs_x, *complaints.values(), *formats.values()])
        await session.flush()

        def attachment(
            absence_id: int | None = None, complaint_id: int | None = None
        ) -> Attachment:
            return Attachment(
                absence_id=absence_id,
                complaint_id=complaint_id,
                telegram_file_id="x",
                file_name="note.pdf",
                mime_type="application/pdf",
                size=8,
                content=b"%PDF-1.4",
                received_at=now,
                fetched_at=now,
            )

        files = {
            "file_a": attachment(abs_a.id),
            "file_b": attachment(abs_b.id),
            "file_x": attachment(abs_x.id),
            "file_cspo": attachment(complaint_id=complaints["cspo"].id),
            "file_cadmin": attachment(complaint_id=complaints["cadmin"].id),
        }
        session.add_all(files.values())
        await session.commit()
        ids = {
            "abs_a": str(abs_a.id),
            "abs_b": str(abs_b.id),
            "abs_x": str(abs_x.id),
            **{key: c.reference for key, c in complaints.items()},
            **{key: str(f.id) for key, f in formats.items()},
            **{key: str(f.id) for key, f in files.items()},
            "pa": pa.reference,
            "pb": pb.reference,
            "cohort_a": str(cohort_a.id),
            "cohort_b": str(cohort_b.id),
            "missing": MISSING_NUMBER,
            "missing_complaint": MISSING_COMPLAINT,
            "missing_participant": MISSING_PARTICIPANT,
            # A real saved reply (the matrix removes fresh ones made by `prepare`).
            "reply": str(kept[0].id),
            **{f"reply_{r.role.value}": str(r.id) for r in kept},
        }
    return World(board, ids, staff_ids)


# --- the matrix -------------------------------------------------------------------------------

Prepare = Callable[[World, str], Awaitable[dict[str, str]]]


@dataclass(frozen=True)
class Case:
    """One target of a route: who may use it, and what they get."""

    name: str
    url: str  # with {placeholders} from World.ids and `_values`
    allowed: frozenset[str]
    ok: int  # the answer for those allowed
    denied: int = 404  # for everyone else: as if it did not exist
    form: Mapping[str, str] = field(default_factory=dict)
    # Someone whose answer is neither (e.g. 403 for an admin's own account).
    special: Mapping[str, int] = field(default_factory=dict)
    prepare: Prepare | None = None  # makes a fresh item just for this call

    def expected(self, persona: str) -> int:
        if persona in self.special:
            return self.special[persona]
        return self.ok if persona in self.allowed else self.denied


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # aiohttp's canonical form, as in app.router
    cases: tuple[Case, ...]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def _items(
    url: str,
    sees: Mapping[str, frozenset[str]],
    ok: int,
    missing: str,
    form: Mapping[str, str] | None = None,
) -> tuple[Case, ...]:
    """One case per item (own caseload, other caseload, ...), and one that does not exist."""
    cases = [
        Case(key, url.replace("{key}", "{" + key + "}"), who, ok, form=form or {})
        for key, who in sees.items()
    ]
    cases.append(
        Case("missing", url.replace("{key}", "{" + missing + "}"), NOBODY, ok, form=form or {})
    )
    return tuple(cases)


async def _own_reply(world: World, persona: str) -> dict[str, str]:
    made = await saved_replies.add_reply(
        world.board.core.services, email(persona), "Throwaway", "To be removed."
    )
    return {"reply": str(made.id)}


async def _other_roles_reply(world: World, persona: str) -> dict[str, str]:
    made = await saved_replies.add_reply(
        world.board.core.services,
        email(ADMIN2),
        "Throwaway",
        "To be removed.",
        Role(_other_role(persona)),
    )
    return {"reply": str(made.id)}


def _other_role(persona: str) -> str:
    role = PERSONAS[persona]
    return (Role.OFFENDER_MANAGER if role is Role.FACILITATOR else Role.FACILITATOR).value


def _values(world: World, persona: str) -> dict[str, str]:
    """Placeholders that depend on who is asking."""
    colleague = ADMIN1 if persona == ADMIN2 else ADMIN2
    return {
        **world.ids,
        "me": str(world.staff_ids[persona]),
        "colleague": str(world.staff_ids[colleague]),
        "other_role": _other_role(persona),
        "om1_email": email(OM1),
    }


NOT_A_COLLEAGUE = {"assignee": MISSING_NUMBER}
TOO_LONG = "x" * 2001

ROUTES: tuple[Route, ...] = (
    # Everyone's own pages: what is on them is checked by the listing tests below.
    Route("GET", "/", (Case("-", "/", EVERYONE, 200),)),
    Route("POST", "/keep-alive", (Case("-", "/keep-alive", EVERYONE, 204),)),
    Route("GET", "/cohorts", (Case("-", "/cohorts", EVERYONE, 200),)),
    Route("GET", "/participants", (Case("-", "/participants", EVERYONE, 200),)),
    Route("GET", "/telegram", (Case("-", "/telegram", EVERYONE, 200),)),
    Route("POST", "/telegram", (Case("-", "/telegram", EVERYONE, 200),)),
    Route("GET", "/saved-replies", (Case("-", "/saved-replies", EVERYONE, 200),)),
    Route(
        "POST",
        "/saved-replies",
        (
            Case("empty", "/saved-replies", EVERYONE, 400, form={"title": "", "text": ""}),
            # Only admins keep saved replies for other roles.
            Case(
                "another role's",
                "/saved-replies",
                ADMINS,
                303,
                denied=400,
                form={"title": "Another role", "text": "Words.", "role": "{other_role}"},
            ),
        ),
    ),
    Route(
        "POST",
        "/saved-replies/{id}/remove",
        (
            Case("own role's", "/saved-replies/{reply}/remove", EVERYONE, 303, prepare=_own_reply),
            Case(
                "another role's",
                "/saved-replies/{reply}/remove",
                ADMINS,
                303,
                prepare=_other_roles_reply,
            ),
            Case("missing", "/saved-replies/{missing}/remove", NOBODY, 303),
        ),
    ),
    # Admins only.
    Route("GET", "/audit", (Case("-", "/audit", ADMINS, 200),)),
    Route("GET", "/staff", (Case("-", "/staff", ADMINS, 200),)),
    Route(
        "POST",
        "/staff",
        (Case("invalid", "/staff", ADMINS, 400, form={"email": "", "name": "", "role": ""}),),
    ),
    Route(
        "POST",
        "/staff/{id}",
        (
            # Nobody changes their own account: not even an admin (403).
            Case("own account", "/staff/{me}", NOBODY, 400, special={ADMIN1: 403, ADMIN2: 403}),
            Case("an admin colleague's", "/staff/{colleague}", ADMINS, 400),
            Case("missing", "/staff/{missing}", NOBODY, 400),
        ),
    ),
    # Facilitators (their own cohorts) and admins.
    Route(
        "GET",
        "/participants/new",
        (Case("-", "/participants/new", frozenset({FAC_A, FAC_B}) | ADMINS, 200),),
    ),
    Route(
        "POST",
        "/participants/new",
        tuple(
            Case(
                name,
                "/participants/new",
                who,
                400,  # no name: refused, nothing added
                form={"name": "", "cohort": cohort, "offender_manager": "{om1_email}"},
            )
            for name, cohort, who in (
                ("cohort A", COHORT_A, RUNS["cohort_a"]),
                ("cohort B", COHORT_B, RUNS["cohort_b"]),
                ("missing", "Nowhere", NOBODY),
            )
        ),
    ),
    Route(
        "GET",
        "/cohorts/{id}/sessions/{number}",
        _items("/cohorts/{key}/sessions/1", RUNS, 200, "missing"),
    ),
    Route(
        "POST",
        "/cohorts/{id}/sessions/{number}",
        # Session 1 has not started yet: refused (400) for those who run the cohort.
        _items("/cohorts/{key}/sessions/1", RUNS, 400, "missing"),
    ),
    # A participant's record.
    Route(
        "GET",
        "/participants/{reference}",
        _items("/participants/{key}", SEES_PARTICIPANT, 200, "missing_participant"),
    ),
    Route(
        "POST",
        "/participants/{reference}/unlink",
        # No phone is linked: refused (400) for those who may.
        _items("/participants/{key}/unlink", SEES_PARTICIPANT, 400, "missing_participant"),
    ),
    Route(
        "POST",
        "/participants/{reference}/language",
        # A language we do not have: refused (400) for those who may set it.
        _items(
            "/participants/{key}/language",
            SEES_PARTICIPANT,
            400,
            "missing_participant",
            {"language": "xx-unknown"},
        ),
    ),
    Route(
        "POST",
        "/participants/{reference}/code",
        _items("/participants/{key}/code", SEES_PARTICIPANT, 200, "missing_participant"),
    ),
    Route(
        "POST",
        "/participants/{reference}/catch-ups",
        # Session 1 was not missed: refused (400) for those who book; his OM may see his
        # record but not book (404).
        _items(
            "/participants/{key}/catch-ups",
            BOOKS_FOR,
            400,
            "missing_participant",
            {"session": "1", "day": "2026-12-20", "time": "14:00", "venue": ""},
        ),
    ),
    # Absence reports.
    Route("GET", "/absences/{id}", _items("/absences/{key}", SEES_ABSENCE, 200, "missing")),
    Route(
        "POST",
        "/absences/{id}/decide",
        _items("/absences/{key}/decide", SEES_ABSENCE, 400, "missing", {"decision": "maybe"}),
    ),
    Route(
        "POST",
        "/absences/{id}/sick-note",
        _items("/absences/{key}/sick-note", SEES_ABSENCE, 400, "missing"),
    ),
    Route(
        "POST",
        "/absences/{id}/notes",
        _items("/absences/{key}/notes", SEES_ABSENCE, 400, "missing", {"note": " "}),
    ),
    Route(
        "POST",
        "/absences/{id}/assign",
        _items("/absences/{key}/assign", SEES_ABSENCE, 400, "missing", NOT_A_COLLEAGUE),
    ),
    # Complaints.
    Route(
        "GET",
        "/complaints/{reference}",
        _items("/complaints/{key}", SEES_COMPLAINT, 200, "missing_complaint"),
    ),
    Route(
        "POST",
        "/complaints/{reference}/acknowledge",
        _items("/complaints/{key}/acknowledge", SEES_COMPLAINT, 400, "missing_complaint"),
    ),
    Route(
        "POST",
        "/complaints/{reference}/reply",
        _items(
            "/complaints/{key}/reply", SEES_COMPLAINT, 400, "missing_complaint", {"message": " "}
        ),
    ),
    Route(
        "POST",
        "/complaints/{reference}/notes",
        _items("/complaints/{key}/notes", SEES_COMPLAINT, 400, "missing_complaint", {"note": ""}),
    ),
    Route(
        "POST",
        "/complaints/{reference}/assign",
        _items(
            "/complaints/{key}/assign", SEES_COMPLAINT, 400, "missing_complaint", NOT_A_COLLEAGUE
        ),
    ),
    # Format requests.
    Route(
        "GET",
        "/format-requests/{id}",
        _items("/format-requests/{key}", SEES_FORMAT, 200, "missing"),
    ),
    Route(
        "POST",
        "/format-requests/{id}/done",
        _items("/format-requests/{key}/done", SEES_FORMAT, 400, "missing", {"message": TOO_LONG}),
    ),
    Route(
        "POST",
        "/format-requests/{id}/assign",
        _items("/format-requests/{key}/assign", SEES_FORMAT, 400, "missing", NOT_A_COLLEAGUE),
    ),
    # Files he sent.
    Route("GET", "/files/{id}", _items("/files/{key}", SEES_FILE, 200, "missing")),
)

# Routes that work before signing in, or are the steps of signing in and out: checked by
# `test_public_and_sign_in_routes`, not by role.
PUBLIC_ROUTES = {
    ("GET", "/static"),
    ("GET", "/healthz"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/sign-in/code"),
    ("POST", "/sign-in/code"),
    ("GET", "/sign-in/set-up"),
    ("POST", "/sign-in/set-up"),
    ("POST", "/sign-out"),
    ("GET", "/set-password/{token}"),
    ("POST", "/set-password/{token}"),
    # The header's English/Welsh switch: for everyone, signed in or not (with a CSRF token).
    ("POST", "/language"),
}


@dataclass(frozen=True)
class Answer:
    status: int
    location: str | None
    body: str


async def _call(
    client: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None,
    form: Mapping[str, str] | None = None,
) -> Answer:
    if method in ("GET", "HEAD"):
        response = await client.request(method, url, allow_redirects=False)
    else:
        data = dict(form or {})
        if token is not None:
            data["csrf_token"] = token
        response = await client.post(url, data=data, allow_redirects=False)
    async with response:
        body = (await response.read()).decode(errors="replace")
        return Answer(response.status, response.headers.get("Location"), body)


async def _ask(world: World, persona: str, method: str, case: Case) -> tuple[str, Answer]:
    values = _values(world, persona)
    if case.prepare is not None:
        values |= await case.prepare(world, persona)
    url = case.url.format(**values)
    form = {key: value.format(**values) for key, value in case.form.items()}
    browser = world.browsers[persona]
    return url, await _call(browser.client, method, url, browser.token, form)


# --- the tests --------------------------------------------------------------------------------


async def test_every_route_is_in_the_matrix(world: World) -> None:
    """A new route cannot be added without deciding who may use it."""
    app = world.board.server.app
    assert app is not None
    served = set()
    for route in app.router.routes():
        assert route.resource is not None
        # aiohttp adds HEAD beside each GET; it runs the same handler as the GET.
        method = "GET" if route.method == "HEAD" else route.method
        served.add((method, route.resource.canonical))
    decided = {(r.method, r.path) for r in ROUTES} | PUBLIC_ROUTES
    assert len(decided) == len(ROUTES) + len(PUBLIC_ROUTES), "a route is in the table twice"
    assert served - decided == set(), "routes nobody has decided access for"
    assert decided - served == set(), "routes in the table that the app does not serve"


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
async def test_access_by_role_and_caseload(world: World, route: Route) -> None:
    """Every person × every case gets what the table says, and never a 5xx."""
    wrong = []
    answers: dict[tuple[str, str], tuple[str, Answer]] = {}
    for persona in PERSONAS:
        for case in route.cases:
            url, answer = await _ask(world, persona, route.method, case)
            answers[persona, case.name] = url, answer
            expected = case.expected(persona)
            if answer.status != expected or answer.status >= 500:
                wrong.append(
                    f"{persona:7} {case.name:22} {route.method} {url}: "
                    f"expected {expected}, got {answer.status} {answer.body[:100]!r}"
                )
            if route.method == "GET":  # aiohttp serves HEAD from the same handler
                browser = world.browsers[persona]
                head = await _call(browser.client, "HEAD", url, None)
                if head.status != expected:
                    wrong.append(
                        f"{persona:7} {case.name:22} HEAD {url}: "
                        f"expected {expected}, got {head.status}"
                    )
    # URL guessing: an item someone may not see looks exactly like one that does not exist.
    if route.method == "GET" and any(c.name == "missing" for c in route.cases):
        for persona in PERSONAS:
            missing_url, missing = answers[persona, "missing"]
            for case in route.cases:
                url, answer = answers[persona, case.name]
                if case.name == "missing" or answer.status != 404:
                    continue
                if _masked(answer.body, url) != _masked(missing.body, missing_url):
                    wrong.append(
                        f"{persona:7} {case.name:22} GET {url}: the 404 differs from a missing "
                        f"item's: {answer.body[:100]!r} vs {missing.body[:100]!r}"
                    )
    assert not wrong, f"{route.id}:\n" + "\n".join(wrong)


def _masked(body: str, url: str) -> str:
    """The body with the item's key (the first number or reference in the URL) blanked."""
    keys = re.findall(r"(?:[CP]-[A-Z0-9]+|[0-9]+)", url)
    if not keys:
        return body
    return re.sub(rf"(?<![\w-]){re.escape(keys[0])}(?![\w-])", "KEY", body)


@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
async def test_nobody_signed_in_is_sent_to_sign_in(world: World, route: Route) -> None:
    """No cookie, an anonymous session (with its own CSRF token), or a password without the
    code: never the page or the action, always the sign-in step (and never a 5xx)."""
    assert world.anonymous and world.half and world.cookieless
    audited = await _audit_entries(world)
    wrong = []
    for case in route.cases:
        values = _values(world, ADMIN1)
        url = case.url.format(**values)
        form = {key: value.format(**values) for key, value in case.form.items()}
        for who, client, token, step in (
            ("no cookie", world.cookieless, None, "/sign-in"),
            ("anonymous", world.anonymous.client, world.anonymous.token, "/sign-in"),
            ("no code yet", world.half.client, world.half.token, "/sign-in/code"),
        ):
            world.cookieless.cookie_jar.clear()
            answer = await _call(client, route.method, url, token, form)
            if (answer.status, answer.location) != (303, step):
                wrong.append(
                    f"{who}: {route.method} {url}: expected 303 to {step}, "
                    f"got {answer.status} {answer.location} {answer.body[:100]!r}"
                )
    assert not wrong, "\n".join(wrong)
    # No handler ran: nothing was viewed or changed, so nothing was audited.
    assert await _audit_entries(world) == audited


async def _audit_entries(world: World) -> int:
    async with world.board.core.services.uow() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def test_public_and_sign_in_routes(world: World) -> None:
    """The routes outside the matrix: open to all, or steps of signing in."""
    assert world.anonymous and world.half and world.cookieless
    signed_in = world.browsers[OM1]
    cookieless, anonymous, half = world.cookieless, world.anonymous, world.half
    cookieless.cookie_jar.clear()
    checks: list[
        tuple[str, aiohttp.ClientSession, str | None, str, str, tuple[int, str | None]]
    ] = [
        ("no cookie", cookieless, None, "GET", "/healthz", (200, None)),
        ("signed in", signed_in.client, None, "GET", "/healthz", (200, None)),
        ("no cookie", cookieless, None, "GET", "/static/style.css", (200, None)),
        # A POST with no session at all has no CSRF token to match.
        ("no cookie", cookieless, None, "POST", "/sign-in", (403, None)),
        ("no cookie", cookieless, None, "POST", "/set-password/nonsense", (403, None)),
        ("no cookie", cookieless, None, "GET", "/sign-in/code", (303, "/sign-in")),
        ("no cookie", cookieless, None, "GET", "/sign-in/set-up", (303, "/sign-in")),
        ("no cookie", cookieless, None, "POST", "/sign-in/code", (303, "/sign-in")),
        ("no cookie", cookieless, None, "POST", "/sign-in/set-up", (303, "/sign-in")),
        ("no cookie", cookieless, None, "POST", "/sign-out", (303, "/sign-in")),
        ("no cookie", cookieless, None, "GET", "/set-password/nonsense", (404, None)),
        ("no cookie", cookieless, None, "POST", "/language", (403, None)),
        ("anonymous", anonymous.client, anonymous.token, "POST", "/language", (303, "/")),
        ("no code yet", half.client, half.token, "POST", "/language", (303, "/")),
        ("signed in", signed_in.client, signed_in.token, "POST", "/language", (303, "/")),
        ("anonymous", anonymous.client, anonymous.token, "GET", "/sign-in/code", (303, "/sign-in")),
        (
            "anonymous",
            anonymous.client,
            anonymous.token,
            "POST",
            "/sign-in/code",
            (303, "/sign-in"),
        ),
        ("anonymous", anonymous.client, anonymous.token, "POST", "/sign-out", (303, "/sign-in")),
        (
            "anonymous",
            anonymous.client,
            anonymous.token,
            "POST",
            "/set-password/nonsense",
            (404, None),
        ),
        ("no code yet", half.client, half.token, "GET", "/sign-in/code", (200, None)),
        ("no code yet", half.client, half.token, "GET", "/sign-in/set-up", (303, "/sign-in/code")),
        ("signed in", signed_in.client, signed_in.token, "GET", "/sign-in", (303, "/")),
        (
            "signed in",
            signed_in.client,
            signed_in.token,
            "GET",
            "/sign-in/set-up",
            (303, "/sign-in/code"),
        ),
        (
            "signed in",
            signed_in.client,
            signed_in.token,
            "GET",
            "/set-password/nonsense",
            (404, None),
        ),
    ]
    wrong = []
    for who, client, token, method, url, expected in checks:
        if client is cookieless:
            cookieless.cookie_jar.clear()
        answer = await _call(client, method, url, token)
        if (answer.status, answer.location) != expected:
            wrong.append(
                f"{who}: {method} {url}: expected {expected}, got {answer.status} {answer.location}"
            )
    anonymous_page = await _call(anonymous.client, "GET", "/sign-in", None)
    if anonymous_page.status != 200:
        wrong.append(f"anonymous: GET /sign-in: expected 200, got {anonymous_page.status}")
    assert not wrong, "\n".join(wrong)


# --- a complaint about someone is never theirs to see -----------------------------------------


@pytest.mark.parametrize(
    ("subject", "key", "colleague"),
    [(SPO1, "cspo", SPO2), (ADMIN1, "cadmin", ADMIN2)],
    ids=["about an SPO", "about an admin"],
)
async def test_a_complaint_about_someone_is_hidden_from_them(
    world: World, subject: str, key: str, colleague: str
) -> None:
    reference = world.ids[key]
    file_id = world.ids[f"file_{key}"]
    me = world.browsers[subject]
    # The page, however the reference is written, and its file: as if it did not exist.
    for url in (
        f"/complaints/{reference}",
        f"/complaints/{reference.lower()}",
        f"/complaints/%20{reference}%20",
        f"/files/{file_id}",
    ):
        answer = await _call(me.client, "GET", url, None)
        assert answer.status == 404, (url, answer.status)
    # Word for word what a reference that was never used gets.
    hidden = await _call(me.client, "GET", f"/complaints/{reference}", None)
    never = await _call(me.client, "GET", f"/complaints/{MISSING_COMPLAINT}", None)
    assert hidden.body.replace(reference, "KEY") == never.body.replace(MISSING_COMPLAINT, "KEY")
    # Every action on it.
    for action, form in (
        ("acknowledge", {}),
        ("reply", {"message": "Nothing to see here."}),
        ("notes", {"note": "A note."}),
        ("assign", {"assignee": str(world.staff_ids[subject])}),
    ):
        for written in (reference, reference.lower()):
            url = f"/complaints/{written}/{action}"
            answer = await _call(me.client, "POST", url, me.token, form)
            assert answer.status == 404, (url, answer.status, answer.body[:200])
    # Not in any view of their queue, nor counted.
    for url in (
        "/",
        "/?type=complaint",
        "/?type=complaint&status=reply",
        "/?assignee=nobody",
        "/?status=closed",
    ):
        page = await _call(me.client, "GET", url, None)
        assert page.status == 200
        assert reference not in page.body, url
    shown = await _queue_hrefs(me, "/?type=complaint")
    expected = {k for k, who in SEES_COMPLAINT.items() if subject in who}
    assert _count(await _call(me.client, "GET", "/", None), "Complaints") == len(expected)
    assert shown == {f"/complaints/{world.ids[k]}" for k in expected}
    # A colleague in the same role sees it, and cannot hand it to the person it is about.
    other = world.browsers[colleague]
    page = await _call(other.client, "GET", f"/complaints/{reference}", None)
    assert page.status == 200
    assert f'<option value="{world.staff_ids[subject]}"' not in page.body
    refused = await _call(
        other.client,
        "POST",
        f"/complaints/{reference}/assign",
        other.token,
        {"assignee": str(world.staff_ids[subject])},
    )
    assert refused.status == 400, refused.body[:200]
    listed = await _queue_hrefs(other, "/?type=complaint")
    assert f"/complaints/{reference}" in listed


# --- each queue lists exactly what the rules allow --------------------------------------------


def _count(page: Answer, kind: str) -> int:
    match = re.search(rf">{kind} \(([0-9,]+)\)<", page.body)
    assert match, f"no {kind} count on the page"
    return int(match.group(1).replace(",", ""))


async def _queue_hrefs(browser: Browser, url: str) -> set[str]:
    page = await _call(browser.client, "GET", url, None)
    assert page.status == 200
    return set(re.findall(r'href="(/(?:absences|complaints|format-requests)/[^"]+)"', page.body))


@pytest.mark.parametrize("persona", list(PERSONAS))
async def test_each_queue_lists_exactly_what_the_rules_allow(world: World, persona: str) -> None:
    ids = world.ids
    absences = {f"/absences/{ids[k]}" for k, who in SEES_ABSENCE.items() if persona in who}
    complaints = {f"/complaints/{ids[k]}" for k, who in SEES_COMPLAINT.items() if persona in who}
    formats = {f"/format-requests/{ids[k]}" for k, who in SEES_FORMAT.items() if persona in who}
    browser = world.browsers[persona]
    assert await _queue_hrefs(browser, "/") == absences | complaints | formats
    assert await _queue_hrefs(browser, "/?type=absence") == absences
    assert await _queue_hrefs(browser, "/?type=complaint") == complaints
    assert await _queue_hrefs(browser, "/?type=format") == formats
    page = await _call(browser.client, "GET", "/", None)
    assert _count(page, "Absences") == len(absences)
    assert _count(page, "Complaints") == len(complaints)
    assert _count(page, "Format requests") == len(formats)
    # No reference it may not show is anywhere on the page (a row's text, a count's link).
    for key, who in (SEES_COMPLAINT | SEES_FORMAT).items():
        reference = F_A if key == "fr_a" else F_B if key == "fr_b" else ids[key]
        assert (reference in page.body) is (persona in who), reference
    # Participants and cohorts: the same people and cohorts as the record and register rules.
    people = await _call(browser.client, "GET", "/participants", None)
    for key, who in SEES_PARTICIPANT.items():
        assert (f'href="/participants/{ids[key]}"' in people.body) is (persona in who), key
    cohorts = await _call(browser.client, "GET", "/cohorts", None)
    for key, who in RUNS.items():
        assert (f'href="/cohorts/{ids[key]}/sessions/1"' in cohorts.body) is (persona in who), key


async def test_a_colleague_asked_to_take_an_absence_can_open_its_sick_note(world: World) -> None:
    """OM1 is asked to take a report from OM2's caseload: the page is his to act on, and it
    links to the file he sent, so the file must open too (not a 404)."""
    om1 = world.browsers[OM1]
    page = await _call(om1.client, "GET", f"/absences/{world.ids['abs_x']}", None)
    assert page.status == 200
    link = f'href="/files/{world.ids["file_x"]}"'
    assert link in page.body
    file = await _call(om1.client, "GET", f"/files/{world.ids['file_x']}", None)
    assert file.status == 200, file.body[:200]


@pytest.mark.parametrize(
    ("persona", "item"),
    [
        (OM1, "/absences/{abs_a}"),
        (SPO1, "/complaints/{c1}"),
        (CHIEF, "/complaints/{c2}"),
        (CO, "/format-requests/{fr_a}"),
        (ADMIN1, "/complaints/{c1}"),
    ],
)
async def test_item_pages_offer_only_the_roles_own_saved_replies(
    world: World, persona: str, item: str
) -> None:
    """Each role's saved replies, even when another role's id is guessed in `?reply=`;
    an admin keeps them all, so may start from any."""
    browser = world.browsers[persona]
    url = item.format(**world.ids)
    mine = PERSONAS[persona]
    for role in Role:
        page = await _call(browser.client, "GET", f"{url}?reply={world.ids[f'reply_{role}']}", None)
        assert page.status == 200
        allowed = mine is Role.ADMIN or role is mine
        assert (f"Words for {role}." in page.body) is allowed, role
        assert (f"Saved {role}<" in page.body) is allowed, role
