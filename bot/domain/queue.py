"""The staff queue: what each item waits for, by when, and who may be asked to take it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from bot.domain import complaints
from bot.domain.absence import AbsenceStatus
from bot.domain.roles import Role


class Kind(enum.StrEnum):
    ABSENCE = "absence"
    COMPLAINT = "complaint"
    FORMAT = "format"


class Task(enum.StrEnum):
    """What the item waits for from staff; an item with none is out of the queue."""

    DECIDE_ABSENCE = "decide_absence"
    CHECK_SICK_NOTE = "check_sick_note"
    ACKNOWLEDGE = "acknowledge"
    REPLY = "reply"
    SEND_FORMAT = "send_format"


@dataclass(frozen=True, slots=True)
class Entry:
    """An item's place in the queue: its task (None once nothing is due from staff), the
    date it is sorted by, and whether that date is a deadline that can be missed."""

    task: Task | None
    due: date
    deadline: bool


def absence_entry(
    status: AbsenceStatus, session_day: date, sick_note_due: date | None, note_received: bool
) -> Entry:
    """A report waits for a decision; an illness also waits for its sick note, whose last
    day is then the deadline. A decision has no deadline of its own, so it is sorted by
    the session's day and never overdue."""
    waiting_for_note = sick_note_due is not None and not note_received
    if status is AbsenceStatus.REPORTED:
        task: Task | None = Task.DECIDE_ABSENCE
    elif waiting_for_note and status is not AbsenceStatus.WITHDRAWN:
        task = Task.CHECK_SICK_NOTE
    else:
        task = None
    if waiting_for_note and sick_note_due is not None:
        return Entry(task, sick_note_due, True)
    return Entry(task, session_day, False)


def complaint_entry(status: complaints.Status, due: complaints.Deadlines) -> Entry:
    deadline = complaints.current_deadline(status, due)
    if deadline is None:
        return Entry(None, due.reply_by, False)
    task = Task.ACKNOWLEDGE if complaints.awaiting_acknowledgement(status) else Task.REPLY
    return Entry(task, deadline, True)


def format_entry(requested_on: date, done: bool) -> Entry:
    """No deadline is set for these; the oldest comes first."""
    return Entry(None if done else Task.SEND_FORMAT, requested_on, False)


def is_overdue(entry: Entry, today: date) -> bool:
    return entry.task is not None and entry.deadline and entry.due < today


def handling_role(kind: Kind, complaint_queue: Role | None = None) -> Role:
    """The role whose members work on the item (and may be asked to take it)."""
    if kind is Kind.ABSENCE:
        return Role.OFFENDER_MANAGER
    if kind is Kind.FORMAT:
        return Role.CONTRACTS_OFFICER
    if complaint_queue is None:
        raise ValueError("a complaint's queue is needed")
    return complaint_queue


def can_take(
    candidate_id: int, candidate_role: Role, handling: Role, about_staff_id: int | None
) -> bool:
    """Who an item can be assigned to: a colleague in the role that handles it, never
    the person a complaint is about."""
    return candidate_role is handling and candidate_id != about_staff_id


def needs_assignee(kind: Kind, complaint_queue: Role | None) -> bool:
    """A concern for Offender Managers is seen only by the one it is assigned to, so it can
    be handed on but never left with nobody; everything else stays with its role."""
    return kind is Kind.COMPLAINT and complaint_queue is Role.OFFENDER_MANAGER
