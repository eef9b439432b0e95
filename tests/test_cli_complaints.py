"""The staff commands for complaints, format requests and cohort facilitators.

Complaints and format requests come from participants in the chat, so these tests put them
in the database directly (routed and dated as `bot.services.complaints._send` does), for a
participant and staff the CLI created. The participant has not linked Telegram.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import EXAMPLE_PROFILE, load_profile
from bot.db.models import (
    AuditEntry,
    Complaint,
    ComplaintEntry,
    FormatRequest,
    OutboxMessage,
    Participant,
    TelegramLink,
)
from bot.domain import complaints as rules
from bot.domain.complaints import About, Category, Status
from bot.domain.roles import Role
from tests.test_cli import _setup
from tests.test_cli_absence import fail, in_db, ok

LONDON = ZoneInfo("Europe/London")
PROFILE = load_profile(EXAMPLE_PROFILE)
OM = "om@example.org"  # _setup's Offender Manager, Sam's
OTHER_OM = "lee@example.org"
SPO = "spo@example.org"
CHIEF = "chief@example.org"
CONTRACTS = "contracts@example.org"
FACILITATOR = "fac@example.org"
ADMIN = "admin@example.org"
STAFF = [
    (OTHER_OM, "Lee Fictional", "offender_manager"),
    (SPO, "Sol Fictional", "senior_probation_officer"),
    (CHIEF, "Cai Fictional", "chief_officer"),
    (CONTRACTS, "Con Fictional", "contracts_officer"),
    (FACILITATOR, "Fay Fictional", "facilitator"),
    (ADMIN, "Ada Fictional", "admin"),
]
QUEUES = [r.value for r in Role]


@dataclass(frozen=True)
class World:
    participant: str  # his reference
    ids: dict[str, int]  # staff id by email


def setup_world(cli: CliRunner) -> World:
    """Sam (Dana is his OM) and one member of staff in every role."""
    reference = _setup(cli)
    [om] = [s for s in json.loads(ok(cli, "staff", "list", "--json").output) if s["email"] == OM]
    ids = {OM: int(om["id"])}
    for email, name, role in STAFF:
        view = json.loads(
            ok(cli, "staff", "add", email, "--name", name, "--role", role, "--json").output
        )
        assert view["role"] == role
        ids[email] = int(view["id"])
    assert len(set(ids.values())) == len(STAFF) + 1
    return World(reference, ids)


def today() -> date:
    return datetime.now(UTC).astimezone(LONDON).date()


def stage1_due(day: date | None = None) -> rules.Deadlines:
    return rules.deadlines(day or today(), 1, PROFILE.working_calendar(), PROFILE.complaint_rules)


def add_complaint(
    participant_reference: str,
    category: Category,
    about: About,
    about_staff_id: int | None = None,
    words: str = "Something happened at the group.",
) -> str:
    """A complaint as the bot writes one when he taps "Send it"; returns its reference."""

    async def body(session: AsyncSession) -> str:
        participant = await session.scalar(
            select(Participant).where(Participant.reference == participant_reference)
        )
        assert participant is not None
        routing = rules.route(category, about_staff_id, participant.offender_manager_id)
        now = datetime.now(UTC)
        due = rules.deadlines(
            now.astimezone(LONDON).date(),
            1,
            PROFILE.working_calendar(),
            PROFILE.complaint_rules,
        )
        reference = rules.new_reference()
        complaint = Complaint(
            reference=reference,
            participant_id=participant.id,
            category=category,
            about=about,
            about_staff_id=about_staff_id,
            stage=1,
            status=Status.RECEIVED,
            queue=routing.queue,
            assignee_id=routing.assignee_id,
            received_at=now,
            acknowledge_due=due.acknowledge_by,
            reply_due=due.reply_by,
        )
        session.add(complaint)
        await session.flush()
        session.add(
            ComplaintEntry(
                complaint_id=complaint.id,
                kind="description",
                stage=1,
                author="participant",
                text=words,
                at=now,
            )
        )
        return reference

    return in_db(body)


@dataclass(frozen=True)
class Row:
    status: Status
    stage: int
    queue: Role
    assignee_id: int | None
    acknowledged: bool
    answered: bool
    closed: bool
    escalation_open_until: date | None


def complaint_row(reference: str) -> Row:
    async def body(session: AsyncSession) -> Row:
        c = await session.scalar(select(Complaint).where(Complaint.reference == reference))
        assert c is not None
        return Row(
            c.status,
            c.stage,
            c.queue,
            c.assignee_id,
            c.acknowledged_at is not None,
            c.answered_at is not None,
            c.closed_at is not None,
            c.escalation_open_until,
        )

    return in_db(body)


def set_due(reference: str, *, acknowledge_due: date, reply_due: date) -> None:
    async def body(session: AsyncSession) -> None:
        c = await session.scalar(select(Complaint).where(Complaint.reference == reference))
        assert c is not None
        c.acknowledge_due, c.reply_due = acknowledge_due, reply_due

    in_db(body)


def escalate(reference: str) -> None:
    """What the bot does when he says he is not satisfied (bot.services.complaints)."""

    async def body(session: AsyncSession) -> None:
        c = await session.scalar(select(Complaint).where(Complaint.reference == reference))
        assert c is not None
        due = rules.deadlines(today(), 2, PROFILE.working_calendar(), PROFILE.complaint_rules)
        c.stage, c.status = 2, Status.ESCALATED
        c.queue, c.assignee_id = rules.STAGE_2_ROUTING.queue, None
        c.acknowledge_due, c.reply_due = due.acknowledge_by, due.reply_by
        c.acknowledged_at = c.answered_at = c.closed_at = None
        c.escalation_open_until = None

    in_db(body)


@dataclass(frozen=True)
class Audited:
    actor: str
    action: str
    subject: str | None
    details: dict[str, Any] | None


def audit_log() -> list[Audited]:
    async def body(session: AsyncSession) -> list[Audited]:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [Audited(r.actor, r.action, r.subject, r.details) for r in rows]

    return in_db(body)


def complaint_id(reference: str) -> int:
    async def body(session: AsyncSession) -> int:
        found = await session.scalar(select(Complaint.id).where(Complaint.reference == reference))
        assert found is not None
        return int(found)

    return in_db(body)


def outbox_count() -> int:
    async def body(session: AsyncSession) -> int:
        return len(list(await session.scalars(select(OutboxMessage.id))))

    return in_db(body)


def listed(cli: CliRunner, viewer: str, *options: str) -> list[str]:
    """The references `complaint list --as viewer` prints, checking text and JSON agree."""
    lines = ok(cli, "complaint", "list", "--as", viewer, *options).output.strip().splitlines()
    assert lines[-1] == f"{len(lines) - 1} complaint(s)."
    text_refs = [line.split()[0] for line in lines[:-1]]
    data = json.loads(ok(cli, "complaint", "list", "--as", viewer, *options, "--json").output)
    assert [v["reference"] for v in data] == text_refs
    return text_refs


def line_for(
    ref: str,
    participant: str,
    category: str,
    status: str,
    reply_due: date,
    *,
    stage: int = 1,
    overdue: bool = False,
) -> str:
    flag = "  OVERDUE" if overdue else ""
    return (
        f"{ref} {participant} Sam Example: {category}, stage {stage}, {status}, "
        f"reply due {reply_due:%a %d %b %Y}{flag}"
    )


def not_in_queue(ref: str) -> str:
    return f"Error: There is no complaint {ref} in your queue."


# --- the key privacy rule: a complaint about his OM never reaches his OM ----------------------


def test_a_complaint_about_his_om_is_never_shown_to_the_om(cli: CliRunner) -> None:
    world = setup_world(cli)
    om_id = world.ids[OM]
    ref = add_complaint(
        world.participant, Category.DISCRIMINATION_STAFF, About.STAFF, om_id, "Dana was racist."
    )
    row = complaint_row(ref)
    assert (row.queue, row.assignee_id) == (Role.SENIOR_PROBATION_OFFICER, None)

    # Not in any of the OM's lists, and the count says 0.
    for options in [(), ("--all",), ("--overdue",), ("--all", "--overdue")] + [
        ("--queue", q) for q in QUEUES
    ]:
        result = ok(cli, "complaint", "list", "--as", OM, *options)
        assert result.output.strip() == "0 complaint(s).", options
        assert ref not in result.output
        data = json.loads(ok(cli, "complaint", "list", "--as", OM, *options, "--json").output)
        assert data == []

    # Show, acknowledge and reply refuse exactly as for a reference that does not exist.
    before = audit_log()
    assert fail(cli, "complaint", "show", ref, "--as", OM) == not_in_queue(ref)
    assert fail(cli, "complaint", "show", ref.lower(), "--as", OM) == not_in_queue(ref.lower())
    assert fail(cli, "complaint", "show", "C-ZZZZZ", "--as", OM) == not_in_queue("C-ZZZZZ")
    assert fail(cli, "complaint", "show", ref, "--as", OM, "--json") == not_in_queue(ref)
    assert fail(cli, "complaint", "acknowledge", ref, "--as", OM) == not_in_queue(ref)
    assert fail(cli, "complaint", "acknowledge", "C-ZZZZZ", "--as", OM) == not_in_queue("C-ZZZZZ")
    for close in ((), ("--close",)):
        assert fail(
            cli, "complaint", "reply", ref, "--message", "It was not.", *close, "--as", OM
        ) == not_in_queue(ref)
    assert audit_log() == before
    assert complaint_row(ref) == row

    # The Chief Officer has no stage 1 complaints; nor do facilitators or contracts officers.
    for viewer in (CHIEF, FACILITATOR, CONTRACTS, OTHER_OM):
        assert listed(cli, viewer) == [], viewer
        assert listed(cli, viewer, "--all") == [], viewer
        assert fail(cli, "complaint", "show", ref, "--as", viewer) == not_in_queue(ref)

    # The SPO has it in the SPO queue; admin sees it too.
    due = stage1_due()
    assert ok(cli, "complaint", "list", "--as", SPO).output.strip().splitlines() == [
        line_for(ref, world.participant, "discrimination_staff", "received", due.reply_by),
        "1 complaint(s).",
    ]
    assert listed(cli, SPO, "--queue", "senior_probation_officer") == [ref]
    assert listed(cli, SPO, "--queue", "offender_manager") == []
    assert listed(cli, ADMIN) == [ref]
    [view] = json.loads(ok(cli, "complaint", "list", "--as", SPO, "--json").output)
    assert view["reference"] == ref
    assert view["participant_reference"] == world.participant
    assert view["category"] == "discrimination_staff"
    assert view["about"] == "staff"
    assert view["queue"] == "senior_probation_officer"
    assert view["stage"] == 1
    assert view["status"] == "received"
    assert view["acknowledge_due"] == due.acknowledge_by.isoformat()
    assert view["reply_due"] == due.reply_by.isoformat()
    assert view["overdue"] is False
    assert [(e["kind"], e["author"], e["text"]) for e in view["entries"]] == [
        ("description", "participant", "Dana was racist.")
    ]

    shown = ok(cli, "complaint", "show", ref, "--as", SPO).output.strip().splitlines()
    assert shown[0] == line_for(
        ref, world.participant, "discrimination_staff", "received", due.reply_by
    )
    assert shown[1].endswith(" description (participant): Dana was racist.")
    assert (
        json.loads(ok(cli, "complaint", "show", ref, "--as", ADMIN, "--json").output)["reference"]
        == ref
    )

    # Overdue: on the SPO's overdue list, still on none of the OM's.
    past = today() - timedelta(days=1)
    set_due(ref, acknowledge_due=past, reply_due=past)
    assert listed(cli, SPO, "--overdue") == [ref]
    for options in [(), ("--overdue",), ("--overdue", "--queue", "senior_probation_officer")]:
        assert ok(cli, "complaint", "list", "--as", OM, *options).output.strip() == (
            "0 complaint(s)."
        )
        assert json.loads(ok(cli, "complaint", "list", "--as", OM, *options, "--json").output) == []

    ok(cli, "complaint", "acknowledge", ref, "--as", SPO)
    ok(cli, "complaint", "reply", ref, "--message", "We are looking into it.", "--as", SPO)
    assert complaint_row(ref).status is Status.ANSWERED
    spo = f"staff:{world.ids[SPO]}"
    om_actor = f"staff:{om_id}"
    assert om_actor not in {a.actor for a in audit_log()}
    assert [a.action for a in audit_log() if a.actor == spo] == [
        "complaint.view",
        "complaint.acknowledge",
        "complaint.reply",
    ]

    # Still hidden from the OM once answered.
    for options in [(), ("--all",), ("--overdue",)]:
        assert ok(cli, "complaint", "list", "--as", OM, *options).output.strip() == (
            "0 complaint(s)."
        )
    assert fail(cli, "complaint", "show", ref, "--as", OM) == not_in_queue(ref)


def test_a_complaint_about_his_om_at_stage_2_is_for_the_chief_officer_only(
    cli: CliRunner,
) -> None:
    world = setup_world(cli)
    ref = add_complaint(
        world.participant, Category.DISCRIMINATION_STAFF, About.STAFF, world.ids[OM]
    )
    assert listed(cli, CHIEF) == []
    ok(cli, "complaint", "reply", ref, "--message", "Answered.", "--as", SPO)
    escalate(ref)
    assert listed(cli, CHIEF) == [ref]
    assert listed(cli, SPO, "--all") == []
    assert listed(cli, OM, "--all") == []
    assert listed(cli, ADMIN) == [ref]
    assert fail(cli, "complaint", "show", ref, "--as", OM) == not_in_queue(ref)
    assert fail(cli, "complaint", "acknowledge", ref, "--as", SPO) == not_in_queue(ref)
    data = json.loads(ok(cli, "complaint", "acknowledge", ref, "--as", CHIEF, "--json").output)
    assert (data["stage"], data["status"], data["queue"]) == (2, "acknowledged", "chief_officer")
    due2 = rules.deadlines(today(), 2, PROFILE.working_calendar(), PROFILE.complaint_rules)
    assert data["reply_due"] == due2.reply_by.isoformat()
    ok(cli, "complaint", "reply", ref, "--message", "Final answer.", "--as", CHIEF)
    row = complaint_row(ref)
    # The stage 2 answer is the last internal one: it closes the complaint.
    assert (row.stage, row.status) == (2, Status.CLOSED)
    assert row.escalation_open_until is None  # no stage 3
    reply_entry = [a for a in audit_log() if a.action == "complaint.reply"][-1]
    assert reply_entry.actor == f"staff:{world.ids[CHIEF]}"
    assert reply_entry.details == {"stage": 2, "close": True, "participant_told": False}


def test_a_complaint_about_a_facilitator_is_hidden_from_the_facilitator(cli: CliRunner) -> None:
    world = setup_world(cli)
    fac = world.ids[FACILITATOR]
    concern = add_complaint(world.participant, Category.DISCRIMINATION_STAFF, About.STAFF, fac)
    unfair = add_complaint(world.participant, Category.UNFAIR, About.STAFF, fac)
    assert complaint_row(concern).queue is Role.OFFENDER_MANAGER
    assert complaint_row(concern).assignee_id == world.ids[OM]
    assert complaint_row(unfair).queue is Role.SENIOR_PROBATION_OFFICER
    assert listed(cli, OM) == [concern]
    assert sorted(listed(cli, SPO)) == sorted([concern, unfair])
    assert listed(cli, FACILITATOR) == []
    assert listed(cli, ADMIN, "--queue", "senior_probation_officer") == [unfair]
    assert listed(cli, ADMIN, "--queue", "offender_manager") == [concern]


# --- a discrimination concern about group members -----------------------------------------------


def test_a_concern_about_group_members_goes_to_his_om_and_the_spo(cli: CliRunner) -> None:
    world = setup_world(cli)
    ref = add_complaint(world.participant, Category.DISCRIMINATION_GROUP, About.GROUP_MEMBERS)
    row = complaint_row(ref)
    assert (row.queue, row.assignee_id) == (Role.OFFENDER_MANAGER, world.ids[OM])

    assert listed(cli, OM) == [ref]
    assert listed(cli, OM, "--queue", "offender_manager") == [ref]
    assert listed(cli, OM, "--queue", "senior_probation_officer") == []
    assert listed(cli, SPO) == [ref]
    assert listed(cli, SPO, "--queue", "offender_manager") == [ref]
    assert listed(cli, ADMIN) == [ref]
    for viewer in (CHIEF, OTHER_OM, FACILITATOR, CONTRACTS):
        assert listed(cli, viewer) == [], viewer
        assert fail(cli, "complaint", "show", ref, "--as", viewer) == not_in_queue(ref)
    [view] = json.loads(ok(cli, "complaint", "list", "--as", OM, "--json").output)
    assert (view["category"], view["about"], view["queue"]) == (
        "discrimination_group",
        "group_members",
        "offender_manager",
    )

    # His OM can deal with it.
    data = json.loads(ok(cli, "complaint", "acknowledge", ref, "--as", OM, "--json").output)
    assert data["status"] == "acknowledged"
    assert audit_log()[-1].actor == f"staff:{world.ids[OM]}"


def test_the_viewer_can_come_from_the_environment(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = setup_world(cli)
    ref = add_complaint(world.participant, Category.DISCRIMINATION_GROUP, About.GROUP_MEMBERS)
    monkeypatch.setenv("COMPANION_STAFF_EMAIL", OM)
    assert ok(cli, "complaint", "list").output.strip().splitlines()[-1] == "1 complaint(s)."
    monkeypatch.setenv("COMPANION_STAFF_EMAIL", CHIEF)
    assert ok(cli, "complaint", "list").output.strip() == "0 complaint(s)."
    assert fail(cli, "complaint", "show", ref) == not_in_queue(ref)


def test_an_unknown_viewer_exits_1(cli: CliRunner) -> None:
    world = setup_world(cli)
    ref = add_complaint(world.participant, Category.UNFAIR, About.NOT_SAID)
    message = "Error: There is no active member of staff with email nobody@example.org."
    assert fail(cli, "complaint", "list", "--as", "nobody@example.org") == message
    assert fail(cli, "complaint", "show", ref, "--as", "nobody@example.org") == message
    # The email is matched however it is typed.
    assert listed(cli, " SPO@Example.org ") == [ref]


# --- acknowledge and reply --------------------------------------------------------------------


def test_acknowledge_then_reply(cli: CliRunner) -> None:
    world = setup_world(cli)
    ref = add_complaint(world.participant, Category.UNFAIR, About.NOT_SAID, words="Unfair.")
    spo = f"staff:{world.ids[SPO]}"
    subject = f"complaint:{complaint_id(ref)}"
    due = stage1_due()
    assert complaint_row(ref).status is Status.RECEIVED

    result = ok(cli, "complaint", "acknowledge", ref, "--as", SPO)
    assert result.output.strip() == "Acknowledged. " + line_for(
        ref, world.participant, "unfair", "acknowledged", due.reply_by
    )
    row = complaint_row(ref)
    assert (row.status, row.acknowledged, row.answered) == (Status.ACKNOWLEDGED, True, False)
    assert audit_log()[-1] == Audited(spo, "complaint.acknowledge", subject, None)

    before = audit_log()
    assert fail(cli, "complaint", "acknowledge", ref, "--as", SPO) == (
        "Error: This complaint is acknowledged; only a new one can be acknowledged."
    )
    for empty in ("", "   \n "):
        assert fail(cli, "complaint", "reply", ref, "--message", empty, "--as", SPO) == (
            "Error: The reply is empty."
        )
    assert fail(cli, "complaint", "reply", ref, "--message", "x" * 3901, "--as", SPO) == (
        "Error: The reply is too long: at most 3900 characters."
    )
    assert audit_log() == before
    assert complaint_row(ref).status is Status.ACKNOWLEDGED

    result = ok(
        cli, "complaint", "reply", ref, "--message", "  We have looked into it.  ", "--as", SPO
    )
    assert result.output.strip() == "Sent. " + line_for(
        ref, world.participant, "unfair", "answered", due.reply_by
    )
    row = complaint_row(ref)
    assert (row.status, row.answered, row.closed) == (Status.ANSWERED, True, False)
    assert row.escalation_open_until == rules.escalation_open_until(
        today(), PROFILE.working_calendar(), PROFILE.complaint_rules
    )
    assert audit_log()[-1] == Audited(
        spo,
        "complaint.reply",
        subject,
        {"stage": 1, "close": False, "participant_told": False},
    )
    assert outbox_count() == 0  # he has not linked Telegram: nothing queued

    # Answered is still open: listed without --all; acknowledging again is refused.
    assert listed(cli, SPO) == [ref]
    before = audit_log()
    assert fail(cli, "complaint", "acknowledge", ref, "--as", SPO) == (
        "Error: This complaint is answered; only a new one can be acknowledged."
    )
    assert audit_log() == before

    # Show prints the history and audits the viewing.
    shown = ok(cli, "complaint", "show", ref.lower(), "--as", SPO).output.strip().splitlines()
    assert shown[0] == line_for(ref, world.participant, "unfair", "answered", due.reply_by)
    stamp = r"  \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d "
    assert [re.sub(stamp, "", line, count=1) for line in shown[1:]] == [
        "description (participant): Unfair.",
        f"acknowledged ({spo}): ",
        f"reply ({spo}): We have looked into it.",
    ]
    assert all(re.match(stamp, line) for line in shown[1:])
    assert audit_log()[-1] == Audited(spo, "complaint.view", subject, None)
    data = json.loads(ok(cli, "complaint", "show", ref, "--as", SPO, "--json").output)
    assert [(e["kind"], e["author"], e["text"], e["stage"]) for e in data["entries"]] == [
        ("description", "participant", "Unfair.", 1),
        ("acknowledged", spo, None, 1),
        ("reply", spo, "We have looked into it.", 1),
    ]
    assert [a.action for a in audit_log()].count("complaint.view") == 2

    # A follow-up to an answer is allowed and can close it; a closed one takes no more.
    ok(cli, "complaint", "reply", ref, "--message", "One more thing.", "--as", SPO)
    assert complaint_row(ref).status is Status.ANSWERED
    ok(cli, "complaint", "reply", ref, "--message", "Closing this.", "--close", "--as", SPO)
    assert complaint_row(ref).status is Status.CLOSED
    assert fail(cli, "complaint", "reply", ref, "--message", "Again.", "--as", SPO) == (
        "Error: This complaint is closed; it is not waiting for a reply."
    )


def test_reply_with_close_closes_it(cli: CliRunner) -> None:
    world = setup_world(cli)
    ref = add_complaint(world.participant, Category.OTHER, About.SOMEONE_ELSE)
    due = stage1_due()
    data = json.loads(
        ok(
            cli,
            "complaint",
            "reply",
            ref,
            "--message",
            "Sorted, thank you.",
            "--close",
            "--as",
            SPO,
            "--json",
        ).output
    )
    assert data["status"] == "closed"
    assert data["reply_due"] == due.reply_by.isoformat()
    row = complaint_row(ref)
    assert (row.status, row.acknowledged, row.answered, row.closed) == (
        Status.CLOSED,
        False,
        True,
        True,
    )
    entry = audit_log()[-1]
    assert (entry.actor, entry.action) == (f"staff:{world.ids[SPO]}", "complaint.reply")
    assert entry.details == {"stage": 1, "close": True, "participant_told": False}

    # Closed ones are listed only with --all.
    assert listed(cli, SPO) == []
    assert listed(cli, SPO, "--all") == [ref]
    text = ok(cli, "complaint", "list", "--as", SPO, "--all").output.strip().splitlines()
    assert text[0] == line_for(ref, world.participant, "other", "closed", due.reply_by)
    assert fail(cli, "complaint", "acknowledge", ref, "--as", SPO) == (
        "Error: This complaint is closed; only a new one can be acknowledged."
    )
    assert fail(cli, "complaint", "reply", ref, "--message", "More.", "--as", SPO) == (
        "Error: This complaint is closed; it is not waiting for a reply."
    )


def test_a_reply_without_acknowledging_first_is_allowed(cli: CliRunner) -> None:
    world = setup_world(cli)
    ref = add_complaint(world.participant, Category.UNFAIR, About.NOT_SAID)
    ok(cli, "complaint", "reply", ref, "--message", "Answer.", "--as", ADMIN)
    assert complaint_row(ref).status is Status.ANSWERED
    assert audit_log()[-1].actor == f"staff:{world.ids[ADMIN]}"


def link_telegram(participant_reference: str, chat_id: int) -> None:
    """As if he had sent /start with his code."""

    async def body(session: AsyncSession) -> None:
        participant = await session.scalar(
            select(Participant).where(Participant.reference == participant_reference)
        )
        assert participant is not None
        session.add(
            TelegramLink(participant_id=participant.id, telegram_user_id=chat_id, chat_id=chat_id)
        )

    in_db(body)


@dataclass(frozen=True)
class Queued:
    chat_id: int
    text: str
    buttons: list[str]


def outbox() -> list[Queued]:
    async def body(session: AsyncSession) -> list[Queued]:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [
            Queued(
                r.chat_id,
                r.text or "",
                [
                    b["callback_data"]
                    for row in (r.reply_markup or {}).get("inline_keyboard", [])
                    for b in row
                ],
            )
            for r in rows
        ]

    return in_db(body)


def test_a_linked_participant_is_told_of_the_acknowledgement_and_the_reply(
    cli: CliRunner,
) -> None:
    world = setup_world(cli)
    link_telegram(world.participant, 5551)
    ref = add_complaint(world.participant, Category.UNFAIR, About.NOT_SAID)
    cid = complaint_id(ref)
    ok(cli, "complaint", "acknowledge", ref, "--as", SPO)
    ok(cli, "complaint", "reply", ref, "--message", "We have looked into it.", "--as", SPO)
    # The answer, then what he can do next with its buttons, in a message of its own.
    [acknowledged, answered, choices] = outbox()
    assert acknowledged.chat_id == answered.chat_id == choices.chat_id == 5551
    assert ref in acknowledged.text
    assert ref in answered.text
    assert "We have looked into it." in answered.text
    assert answered.buttons == []
    assert choices.buttons == [f"cmv:{cid}:sat", f"cmv:{cid}:unsat"]
    assert audit_log()[-1].details == {"stage": 1, "close": False, "participant_told": True}


@pytest.mark.parametrize("close", [False, True])
def test_the_longest_reply_allowed_still_fits_in_one_telegram_message(
    cli: CliRunner, close: bool
) -> None:
    world = setup_world(cli)
    link_telegram(world.participant, 5551)
    ref = add_complaint(world.participant, Category.UNFAIR, About.NOT_SAID)
    longest = "x" * 3900  # the most `complaint reply` accepts
    ok(
        cli,
        "complaint",
        "reply",
        ref,
        "--message",
        longest,
        *(["--close"] if close else []),
        "--as",
        SPO,
    )
    answered, _choices = outbox()
    assert longest in answered.text
    assert len(answered.text.encode("utf-16-le")) // 2 <= 4096


# --- overdue ----------------------------------------------------------------------------------


def test_overdue_lists_those_past_a_deadline_until_answered(cli: CliRunner) -> None:
    world = setup_world(cli)
    late = add_complaint(world.participant, Category.UNFAIR, About.NOT_SAID)
    unacknowledged = add_complaint(world.participant, Category.OTHER, About.NOT_SAID)
    on_time = add_complaint(world.participant, Category.UNFAIR, About.SOMEONE_ELSE)
    past = today() - timedelta(days=3)
    set_due(late, acknowledge_due=past - timedelta(days=20), reply_due=past)
    # Only the acknowledgement is late.
    reply_later = today() + timedelta(days=10)
    set_due(unacknowledged, acknowledge_due=past, reply_due=reply_later)
    on_time_due = stage1_due().reply_by

    assert listed(cli, SPO, "--overdue") == [late, unacknowledged]
    assert listed(cli, SPO) == [late, unacknowledged, on_time]  # soonest reply first
    lines = ok(cli, "complaint", "list", "--as", SPO).output.strip().splitlines()
    assert lines == [
        line_for(late, world.participant, "unfair", "received", past, overdue=True),
        line_for(unacknowledged, world.participant, "other", "received", reply_later, overdue=True),
        line_for(on_time, world.participant, "unfair", "received", on_time_due),
        "3 complaint(s).",
    ]
    data = json.loads(ok(cli, "complaint", "list", "--as", SPO, "--overdue", "--json").output)
    assert [(v["reference"], v["overdue"]) for v in data] == [(late, True), (unacknowledged, True)]
    assert listed(cli, ADMIN, "--overdue") == [late, unacknowledged]
    assert listed(cli, CHIEF, "--overdue") == []

    # Acknowledging the second puts it back on time; the first is still late for its reply.
    ok(cli, "complaint", "acknowledge", unacknowledged, "--as", SPO)
    ok(cli, "complaint", "acknowledge", late, "--as", SPO)
    assert listed(cli, SPO, "--overdue") == [late]
    shown = ok(cli, "complaint", "show", late, "--as", SPO).output.splitlines()[0]
    assert shown.endswith("  OVERDUE")

    # Once answered it is not overdue, even though the date has passed.
    ok(cli, "complaint", "reply", late, "--message", "Sorry for the wait.", "--as", SPO)
    assert listed(cli, SPO, "--overdue") == []
    assert listed(cli, SPO, "--overdue", "--all") == []
    assert ok(cli, "complaint", "list", "--as", SPO, "--overdue").output.strip() == (
        "0 complaint(s)."
    )
    lines = ok(cli, "complaint", "list", "--as", SPO).output.strip().splitlines()
    assert lines[0] == line_for(late, world.participant, "unfair", "answered", past)
    assert "OVERDUE" not in "\n".join(lines)


# --- format requests --------------------------------------------------------------------------


def add_format_request(
    participant_reference: str, kind: str, language: str | None = None
) -> tuple[int, str]:
    """A request as the bot writes one; returns its id and reference."""

    async def body(session: AsyncSession) -> tuple[int, str]:
        participant = await session.scalar(
            select(Participant).where(Participant.reference == participant_reference)
        )
        assert participant is not None
        request = FormatRequest(
            reference=rules.new_reference("F"),
            participant_id=participant.id,
            format=kind,
            language=language,
            requested_at=datetime.now(UTC),
        )
        session.add(request)
        await session.flush()
        return request.id, request.reference

    return in_db(body)


@dataclass(frozen=True)
class FormatRow:
    done: bool
    done_by: str | None
    message: str | None


def format_row(request_id: int) -> FormatRow:
    async def body(session: AsyncSession) -> FormatRow:
        request = await session.get(FormatRequest, request_id)
        assert request is not None
        return FormatRow(request.done_at is not None, request.done_by, request.message)

    return in_db(body)


def test_format_requests_are_listed_and_marked_done_once(cli: CliRunner) -> None:
    sam = _setup(cli)
    assert ok(cli, "format-request", "list").output.strip() == "No format requests."
    assert json.loads(ok(cli, "format-request", "list", "--json").output) == []

    large, large_ref = add_format_request(sam, "large_print")
    polish, polish_ref = add_format_request(sam, "language", "Polish")
    day = f"{today():%d %b %Y}"
    assert ok(cli, "format-request", "list").output.strip().splitlines() == [
        f"#{large} {large_ref} {sam} Sam Example: large_print, asked {day}, waiting",
        f"#{polish} {polish_ref} {sam} Sam Example: language (Polish), asked {day}, waiting",
    ]
    [first, second] = json.loads(ok(cli, "format-request", "list", "--json").output)
    assert (first["id"], first["format"], first["language"], first["done_at"]) == (
        large,
        "large_print",
        None,
        None,
    )
    assert (second["reference"], second["participant_reference"]) == (polish_ref, sam)
    assert second["language"] == "Polish"

    result = ok(cli, "format-request", "done", str(polish), "--message", " It is in the post. ")
    assert result.output.strip() == (
        f"Done. #{polish} {polish_ref} {sam} Sam Example: language (Polish), asked {day}, "
        f"done {day}"
    )
    row = format_row(polish)
    assert row.done and row.done_by is not None and row.done_by.startswith("cli:")
    assert row.message == "It is in the post."
    entry = audit_log()[-1]
    assert (entry.action, entry.subject, entry.details) == (
        "format_request.done",
        f"format_request:{polish}",
        None,
    )
    assert entry.actor.startswith("cli:")
    assert outbox_count() == 0

    before = audit_log()
    assert fail(cli, "format-request", "done", str(polish)) == (
        f"Error: Format request {polish} is already done."
    )
    assert fail(cli, "format-request", "done", "999") == "Error: There is no format request 999."
    assert audit_log() == before
    assert format_row(polish).message == "It is in the post."

    # Done ones are hidden unless --all.
    assert [v["id"] for v in json.loads(ok(cli, "format-request", "list", "--json").output)] == [
        large
    ]
    everything = json.loads(ok(cli, "format-request", "list", "--all", "--json").output)
    assert [v["id"] for v in everything] == [large, polish]
    assert everything[1]["message"] == "It is in the post."
    assert everything[1]["done_at"] is not None

    data = json.loads(ok(cli, "format-request", "done", str(large), "--json").output)
    assert data["id"] == large and data["message"] is None and data["done_at"] is not None
    assert format_row(large) == FormatRow(True, format_row(large).done_by, None)
    assert ok(cli, "format-request", "list").output.strip() == "No format requests."
    assert len(json.loads(ok(cli, "format-request", "list", "--all", "--json").output)) == 2


def test_format_request_done_refuses_a_message_that_is_too_long(cli: CliRunner) -> None:
    sam = _setup(cli)
    request, _ = add_format_request(sam, "braille")
    assert fail(cli, "format-request", "done", str(request), "--message", "x" * 2001) == (
        "Error: The message is too long: at most 2000 characters."
    )
    assert format_row(request) == FormatRow(False, None, None)


# --- cohort add-facilitator -------------------------------------------------------------------


def test_cohort_add_facilitator(cli: CliRunner) -> None:
    world = setup_world(cli)
    before = audit_log()
    for email in (OM, SPO, ADMIN):
        assert fail(cli, "cohort", "add-facilitator", "Thursday A", email) == (
            f"Error: {email} is not an active facilitator."
        )
    assert fail(cli, "cohort", "add-facilitator", "Nope", FACILITATOR) == (
        "Error: There is no cohort called 'Nope'."
    )
    assert fail(cli, "cohort", "add-facilitator", "Thursday A", "x@example.org") == (
        "Error: There is no member of staff with email x@example.org."
    )
    assert audit_log() == before

    result = ok(cli, "cohort", "add-facilitator", "Thursday A", FACILITATOR)
    assert result.output.strip() == f"{FACILITATOR} now runs Thursday A."
    entry = audit_log()[-1]
    assert (entry.action, entry.subject, entry.details) == (
        "cohort.add_facilitator",
        "cohort:1",
        {"staff": world.ids[FACILITATOR]},
    )
    assert entry.actor.startswith("cli:")

    assert fail(cli, "cohort", "add-facilitator", "Thursday A", FACILITATOR.upper()) == (
        f"Error: {FACILITATOR} already runs cohort 'Thursday A'."
    )
    assert [a.action for a in audit_log()].count("cohort.add_facilitator") == 1
