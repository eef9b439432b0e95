"""Keeps `queue_items` in step with the items it indexes.

Every flush that adds or changes an absence report, a complaint or a format request also
writes its queue row, from the rules in `bot.domain.queue`. Being a flush hook, no service
can forget it; and because the row is written in the same transaction, the queue is never
out of date with the item.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from bot.db.models import AbsenceReport, Complaint, FormatRequest, QueueItem, ScheduledSession
from bot.domain import complaints
from bot.domain import queue as rules

# Set by `make_session_factory`: the area's zone, for the local day of a session.
ZONE_KEY = "zone"


def _absence_row(session: Session, report: AbsenceReport, zone: ZoneInfo) -> QueueItem:
    item = report.queue_item or QueueItem(kind=rules.Kind.ABSENCE)
    # A new report may name its session by id only.
    programme_session = report.session or session.get(ScheduledSession, report.session_id)
    if programme_session is None:
        raise ValueError(f"absence report for a missing session {report.session_id}")
    entry = rules.absence_entry(
        report.status,
        programme_session.starts_at.astimezone(zone).date(),
        report.self_certificate_due,
        report.certificate_received_at is not None,
    )
    _fill(item, entry, report.participant_id, None)
    item.queue = rules.handling_role(rules.Kind.ABSENCE)
    item.assignee_id = report.assignee_id
    report.queue_item = item
    return item


def _complaint_row(complaint: Complaint) -> QueueItem:
    item = complaint.queue_item or QueueItem(kind=rules.Kind.COMPLAINT)
    entry = rules.complaint_entry(
        complaint.status, complaints.Deadlines(complaint.acknowledge_due, complaint.reply_due)
    )
    _fill(item, entry, complaint.participant_id, complaint.reference)
    item.queue = complaint.queue
    item.stage = complaint.stage
    item.assignee_id = complaint.assignee_id
    item.about_staff_id = complaint.about_staff_id
    complaint.queue_item = item
    return item


def _format_row(request: FormatRequest, zone: ZoneInfo) -> QueueItem:
    item = request.queue_item or QueueItem(kind=rules.Kind.FORMAT)
    entry = rules.format_entry(
        request.requested_at.astimezone(zone).date(), request.done_at is not None
    )
    _fill(item, entry, request.participant_id, request.reference)
    item.queue = rules.handling_role(rules.Kind.FORMAT)
    item.assignee_id = request.assignee_id
    request.queue_item = item
    return item


def _fill(item: QueueItem, entry: rules.Entry, participant_id: int, reference: str | None) -> None:
    item.participant_id = participant_id
    item.reference = reference
    item.task = entry.task
    item.due = entry.due
    item.deadline = entry.deadline


@event.listens_for(Session, "before_flush")
def _index_changed_items(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    zone = session.info.get(ZONE_KEY, ZoneInfo("UTC"))
    changed = [*session.new, *(o for o in session.dirty if session.is_modified(o))]
    with session.no_autoflush:
        for obj in changed:
            if isinstance(obj, AbsenceReport):
                _absence_row(session, obj, zone)
            elif isinstance(obj, Complaint):
                _complaint_row(obj)
            elif isinstance(obj, FormatRequest):
                _format_row(obj, zone)
