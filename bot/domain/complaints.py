"""Complaints and concerns: where each goes, who may see it, its deadlines and its stages.

The leaflet's routes: discrimination → his Offender Manager (the SPO sees these too); unfair
treatment → the Senior Probation Officer (stage 1); not satisfied → the Chief Officer
(stage 2); after that, the Prisons and Probation Ombudsman, which the bot only explains.
A complaint about a named member of staff is never shown to that person and is routed past
them.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import date

from bot.domain.enrolment import ALPHABET
from bot.domain.errors import Conflict
from bot.domain.roles import Role
from bot.domain.workdays import WorkingCalendar

MAX_DESCRIPTION = 4000
MAX_OPEN = 5
REFERENCE_LENGTH = 5


class Category(enum.StrEnum):
    UNFAIR = "unfair"
    DISCRIMINATION_STAFF = "discrimination_staff"
    DISCRIMINATION_GROUP = "discrimination_group"
    OTHER = "other"

    @property
    def is_discrimination(self) -> bool:
        return self in (Category.DISCRIMINATION_STAFF, Category.DISCRIMINATION_GROUP)

    @property
    def may_name_staff(self) -> bool:
        """Discrimination by group members is about other participants, not staff."""
        return self is not Category.DISCRIMINATION_GROUP


class About(enum.StrEnum):
    STAFF = "staff"  # a named member of staff (about_staff_id)
    SOMEONE_ELSE = "someone_else"
    NOT_SAID = "not_said"
    GROUP_MEMBERS = "group_members"


class Status(enum.StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    ESCALATED = "escalated"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self is not Status.CLOSED

    @property
    def awaiting_reply(self) -> bool:
        return self in (Status.RECEIVED, Status.ACKNOWLEDGED, Status.ESCALATED)


@dataclass(frozen=True, slots=True)
class Routing:
    queue: Role
    assignee_id: int | None  # a particular person in that queue, or anyone in the role


def route(category: Category, about_staff_id: int | None, offender_manager_id: int) -> Routing:
    """Stage 1: discrimination to his OM unless it is about the OM; the rest to the SPO."""
    if category.is_discrimination and about_staff_id != offender_manager_id:
        return Routing(Role.OFFENDER_MANAGER, offender_manager_id)
    return Routing(Role.SENIOR_PROBATION_OFFICER, None)


STAGE_2_ROUTING = Routing(Role.CHIEF_OFFICER, None)


@dataclass(frozen=True, slots=True)
class Visibility:
    """What decides whether one member of staff may see one complaint."""

    stage: int
    queue: Role
    assignee_id: int | None
    about_staff_id: int | None
    category: Category


@dataclass(frozen=True, slots=True)
class Scope:
    """Which complaints one member of staff may see, as data: checked here for one
    complaint (`admits`), and turned into a query by the services for a list."""

    staff_id: int  # never a complaint about this person
    everything: bool = False
    stage: int | None = None  # every complaint at this stage
    assigned_in: Role | None = None  # those assigned to them in this queue


def scope_for(staff_id: int, role: Role) -> Scope | None:
    """By role (RULES.md, "Complaints and concerns"); None when the role sees none."""
    if role is Role.ADMIN:
        return Scope(staff_id, everything=True)
    if role is Role.CHIEF_OFFICER:
        return Scope(staff_id, stage=2)
    if role is Role.SENIOR_PROBATION_OFFICER:
        # Stage 1 is theirs, and the SPO "can see" discrimination concerns too.
        return Scope(staff_id, stage=1)
    if role is Role.OFFENDER_MANAGER:
        return Scope(staff_id, assigned_in=Role.OFFENDER_MANAGER)
    return None


def admits(scope: Scope, complaint: Visibility) -> bool:
    if complaint.about_staff_id == scope.staff_id:
        return False
    if scope.everything or complaint.stage == scope.stage:
        return True
    return complaint.queue is scope.assigned_in and complaint.assignee_id == scope.staff_id


def can_see(staff_id: int, role: Role, complaint: Visibility) -> bool:
    """Never the person it is about; otherwise by role."""
    scope = scope_for(staff_id, role)
    return scope is not None and admits(scope, complaint)


@dataclass(frozen=True, slots=True)
class ComplaintRules:
    acknowledge_working_days: int
    stage1_reply_working_days: int
    stage2_request_working_days: int
    stage2_reply_working_days: int


@dataclass(frozen=True, slots=True)
class Deadlines:
    acknowledge_by: date
    reply_by: date


def deadlines(
    received_on: date, stage: int, calendar: WorkingCalendar, rules: ComplaintRules
) -> Deadlines:
    """Working days from the day it was received (stage 1) or escalated (stage 2)."""
    reply_days = rules.stage1_reply_working_days if stage == 1 else rules.stage2_reply_working_days
    return Deadlines(
        acknowledge_by=calendar.deadline(received_on, rules.acknowledge_working_days),
        reply_by=calendar.deadline(received_on, reply_days),
    )


def escalation_open_until(
    answered_on: date, calendar: WorkingCalendar, rules: ComplaintRules
) -> date:
    """The last day he can ask for stage 2 after the stage 1 reply."""
    return calendar.deadline(answered_on, rules.stage2_request_working_days)


def is_overdue(status: Status, acknowledged: bool, due: Deadlines, today: date) -> bool:
    """Still waiting for staff after a deadline passed."""
    if not status.awaiting_reply:
        return False
    if not acknowledged and today > due.acknowledge_by:
        return True
    return today > due.reply_by


def awaiting_acknowledgement(status: Status) -> bool:
    """New at its stage: nobody has told him yet that it was read."""
    return status in (Status.RECEIVED, Status.ESCALATED)


def current_deadline(status: Status, due: Deadlines) -> date | None:
    """The deadline that applies now: the acknowledgement until it is sent, then the reply;
    none once it is answered or closed."""
    if awaiting_acknowledgement(status):
        return due.acknowledge_by
    return due.reply_by if status.awaiting_reply else None


def acknowledge(status: Status) -> Status:
    if not awaiting_acknowledgement(status):
        # Translators: {status} stays in English: "acknowledged", "answered", "escalated"...
        raise Conflict(
            "This complaint is {status}; only a new one can be acknowledged.", status=status.value
        )
    return Status.ACKNOWLEDGED


def reply(status: Status, stage: int, close: bool) -> Status:
    """An answer, or a follow-up to one. The stage 2 answer is the last one, so it closes."""
    if status is Status.CLOSED:
        raise Conflict("This complaint is closed; it is not waiting for a reply.")
    return Status.CLOSED if close or stage == 2 else Status.ANSWERED


def satisfied(status: Status) -> Status:
    if status is not Status.ANSWERED:
        # Translators: {status} stays in English: "received", "acknowledged", "escalated"...
        raise Conflict(
            "This complaint is {status}, so it cannot be closed now.", status=status.value
        )
    return Status.CLOSED


def check_can_escalate(stage: int, status: Status, open_until: date | None, today: date) -> None:
    """Stage 2 only follows a stage 1 reply, and only within the window after it."""
    if stage != 1 or status not in (Status.ANSWERED, Status.CLOSED) or open_until is None:
        raise Conflict("Only a complaint answered at stage 1 can go to stage 2.")
    if today > open_until:
        raise Conflict("The time to ask for stage 2 has passed.")


def new_reference(prefix: str = "C") -> str:
    """E.g. "C-7K3QX": short, and unambiguous read aloud (Crockford's alphabet)."""
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))
