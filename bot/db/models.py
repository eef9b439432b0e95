"""SQLAlchemy models: the whole schema in one place.

Instants are stored as UTC (`UtcDateTime`) and shown in the area's local time.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.compiler import SQLCompiler

from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.attendance import Outcome
from bot.domain.complaints import About, Category
from bot.domain.complaints import Status as ComplaintStatus
from bot.domain.queue import Kind, Task
from bot.domain.roles import Role


@compiles(Table, "sqlite")
def _sqlite_table_hint(table: Table, compiler: SQLCompiler, **kw: Any) -> str:
    """Renders `select(...).with_hint(Model, "INDEXED BY ix_name", "sqlite")`, which SQLAlchemy
    leaves out for SQLite: its planner has no statistics, and for a few queries picks an index
    that is far slower than the one meant for them."""
    sql = compiler.visit_table(table, **kw)
    hint = (kw.get("fromhints") or {}).get(table)
    return f"{sql} {hint}" if hint and kw.get("asfrom") else sql


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _value_enum(enum_class: type[enum.StrEnum], length: int) -> Enum:
    """Store an enum's value (e.g. "ATTC"), which outlives a rename of the Python member."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


# Stable constraint names so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}  # noqa: RUF012


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(_value_enum(Role, 40))
    phone: Mapped[str | None] = mapped_column(String(40))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # Where notices about his caseload go, once he has linked Telegram with a staff code.
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The TOTP second factor: confirmed once he has typed a code from his app.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None]
    # The last 30-second step a code was accepted for, so a code works only once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffToken(Base):
    """A one-time link for a member of staff to set a password (stored only as a hash)."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class WebSession(Base):
    """A dashboard session, kept on the server; the browser holds only a random id."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # None until the password is right; `second_factor_at` once the TOTP code is too.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    second_factor_at: Mapped[datetime | None]
    # A TOTP secret being set up in this session, until its first code confirms it.
    pending_totp_secret: Mapped[str | None] = mapped_column(String(64))
    ended_at: Mapped[datetime | None]


class SignInAttempt(Base):
    """A sign-in try, kept to slow down guessing per account and per address."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email_at", "email", "at"),
        Index("ix_sign_in_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    succeeded: Mapped[bool] = mapped_column(Boolean)


class Cohort(Base):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    venue: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sessions: Mapped[list[ScheduledSession]] = relationship(
        back_populates="cohort", order_by="ScheduledSession.number"
    )


class CohortStaff(Base):
    """Facilitators who run a cohort's sessions (the staff a participant deals with)."""

    __tablename__ = "cohort_staff"

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)


class ScheduledSession(Base):
    __tablename__ = "scheduled_sessions"
    __table_args__ = (UniqueConstraint("cohort_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(Integer)
    venue: Mapped[str | None] = mapped_column(String(200))

    cohort: Mapped[Cohort] = relationship(back_populates="sessions")


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    offender_manager_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    # Which session reminders he wants (/reminders): the evening before, and shortly before.
    reminder_evening: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    reminder_before: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Set when his misses pass the catch-up allowance, until staff deal with it.
    restart_flagged_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cohort: Mapped[Cohort] = relationship()
    offender_manager: Mapped[Staff] = relationship()


class Attendance(Base):
    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("participant_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("scheduled_sessions.id"))
    outcome: Mapped[Outcome] = mapped_column(_value_enum(Outcome, 20))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[ScheduledSession] = relationship()


class CatchUp(Base):
    """A catch-up session completed for one missed group session."""

    __tablename__ = "catch_ups"
    __table_args__ = (UniqueConstraint("participant_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("scheduled_sessions.id"))
    completed_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    session: Mapped[ScheduledSession] = relationship()


class CatchUpBooking(Base):
    """A catch-up session staff have booked for one missed group session."""

    __tablename__ = "catch_up_bookings"
    __table_args__ = (UniqueConstraint("participant_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("scheduled_sessions.id"))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    venue: Mapped[str | None] = mapped_column(String(200))
    booked_at: Mapped[datetime] = mapped_column(default=utcnow)


class TelegramLink(Base):
    """Which Telegram account speaks for which participant; old links are kept, ended."""

    __tablename__ = "telegram_links"
    __table_args__ = (
        Index("ix_telegram_links_active_user", "telegram_user_id", "unlinked_at"),
        Index("ix_telegram_links_active_participant", "participant_id", "unlinked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    unlinked_at: Mapped[datetime | None]

    participant: Mapped[Participant] = relationship()


class EnrolmentCode(Base):
    """A one-time code that links a Telegram account to a participant or a member of staff."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class EnrolmentAttempt(Base):
    """A failed enrolment try, kept to limit guessing."""

    __tablename__ = "enrolment_attempts"
    __table_args__ = (Index("ix_enrolment_attempts_user_at", "telegram_user_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """Something to send to a chat, written in the same transaction as its cause."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat_status", "chat_id", "status"),
        # The sender walks waiting rows, answers before reminders, oldest first.
        Index(
            "ix_outbox_pending",
            "bulk",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ux_outbox_update_id",
            "update_id",
            unique=True,
            sqlite_where=text("update_id IS NOT NULL"),
            postgresql_where=text("update_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id"))
    # "message" sends `text`; "leave_chat" leaves a group after the messages before it.
    action: Mapped[str] = mapped_column(String(20), default="message")
    # Reminders: sent after anything answering someone (see queue_message).
    bulk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    text: Mapped[str | None] = mapped_column(Text)
    reply_markup: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A sender that took the row has it until then; after a crash another may take it.
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # On the first answer to an update only: the update's claim. It is unique, so handling
    # the same update again (a retry, a redelivery after a crash) cannot commit twice.
    update_id: Mapped[int | None] = mapped_column(BigInteger)


class InboundUpdate(Base):
    """An update from Telegram that was not handled before it was acknowledged (a busy
    moment, a failure, a webhook), kept until it is.

    The raw payload (which can hold his words) is cleared once the update is handled; the
    id stays for a week. An update answered in the chat is claimed by its answer
    (`OutboxMessage.update_id`); one with no answer, here.
    """

    __tablename__ = "inbound_updates"
    __table_args__ = (
        # Only unhandled updates are ever looked for by time.
        Index(
            "ix_inbound_updates_unhandled",
            "next_attempt_at",
            sqlite_where=text("processed_at IS NULL"),
            postgresql_where=text("processed_at IS NULL"),
        ),
        Index("ix_inbound_updates_processed_at", "processed_at"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any] | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Until then the process that received it has it; after, any process may (re)try it.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))


class JobLease(Base):
    """Who runs a job that must run in one process at a time (the scheduler), and until when."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did what to which record, for every staff and admin action."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any] | None]


class AppState(Base):
    """Small facts the running bot learns, e.g. its username for enrolment links."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(500))


class AbsenceReport(Base):
    """A participant's report that he cannot attend, or did not attend, a session."""

    __tablename__ = "absence_reports"
    __table_args__ = (
        UniqueConstraint("participant_id", "session_id"),
        Index("ix_absence_reports_status", "status", "reported_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("scheduled_sessions.id"))
    reason: Mapped[Reason] = mapped_column(_value_enum(Reason, 20))
    details: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AbsenceStatus] = mapped_column(_value_enum(AbsenceStatus, 20))
    reported_at: Mapped[datetime]
    self_certificate_due: Mapped[date | None] = mapped_column(Date)
    certificate_received_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_message: Mapped[str | None] = mapped_column(Text)
    # The message that told him, so staff can see whether it reached him.
    decision_outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    # A colleague asked to take it (e.g. covering a leave); his own OM still sees it.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    participant: Mapped[Participant] = relationship()
    session: Mapped[ScheduledSession] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")
    queue_item: Mapped[QueueItem | None] = relationship(back_populates="absence")


class Attachment(Base):
    """A file he sent (a sick note), kept with the absence it belongs to.

    The Telegram file id is stored with the update; the bytes are fetched afterwards, so a
    slow or failing download never loses what he sent.
    """

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One of the two: a sick note for an absence, or evidence sent with a complaint.
    absence_id: Mapped[int | None] = mapped_column(ForeignKey("absence_reports.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    telegram_file_id: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    received_at: Mapped[datetime]
    fetched_at: Mapped[datetime | None] = mapped_column(index=True)
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0)
    fetch_error: Mapped[str | None] = mapped_column(String(500))


class Complaint(Base):
    """A complaint or concern, its route, stage and deadlines; the thread is in entries."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_queue", "queue", "status", "reply_due"),
        Index("ix_complaints_participant", "participant_id", "status"),
        Index(
            "ix_complaints_staff_to_tell",
            "id",
            sqlite_where=text("staff_to_tell"),
            postgresql_where=text("staff_to_tell"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    category: Mapped[Category] = mapped_column(_value_enum(Category, 30))
    about: Mapped[About] = mapped_column(_value_enum(About, 20))
    # Never shown to this person, in any list, count or notice.
    about_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    stage: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[ComplaintStatus] = mapped_column(_value_enum(ComplaintStatus, 20))
    queue: Mapped[Role] = mapped_column(_value_enum(Role, 40))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    received_at: Mapped[datetime]
    acknowledge_due: Mapped[date] = mapped_column(Date)
    reply_due: Mapped[date] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    escalation_open_until: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None]
    # Sent or escalated, and the staff who may see it not yet told (bot/announcer.py tells
    # them a moment later, so his turn does not wait on finding them).
    staff_to_tell: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    participant: Mapped[Participant] = relationship()
    queue_item: Mapped[QueueItem | None] = relationship(back_populates="complaint")
    entries: Mapped[list[ComplaintEntry]] = relationship(
        order_by="ComplaintEntry.id", back_populates="complaint"
    )


class ComplaintEntry(Base):
    """One step in a complaint's history: his words, a reply, an escalation, a closing."""

    __tablename__ = "complaint_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    # "description", "acknowledged", "reply", "escalation", "satisfied", "closed"
    kind: Mapped[str] = mapped_column(String(20))
    stage: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(200))  # "participant" or "staff:<id>"
    text: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    # A reply: the message that took it to him, so staff can see whether it arrived.
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))

    complaint: Mapped[Complaint] = relationship(back_populates="entries")


class FormatRequest(Base):
    """A request for the information in another language or format (Contracts Officer)."""

    __tablename__ = "format_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    format: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(100))
    requested_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(index=True)
    done_by: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    participant: Mapped[Participant] = relationship()
    queue_item: Mapped[QueueItem | None] = relationship(back_populates="format_request")


_OPEN: dict[str, Any] = {
    "sqlite_where": text("task IS NOT NULL"),
    "postgresql_where": text("task IS NOT NULL"),
}
_CLOSED: dict[str, Any] = {
    "sqlite_where": text("task IS NULL"),
    "postgresql_where": text("task IS NULL"),
}
# What the queue's counts and filters test besides the kind, the task and the due date.
_TESTED = ("deadline", "about_staff_id", "assignee_id", "stage")
_PERSONAL = ("kind", "task", "due", "id", "deadline")


class QueueItem(Base):
    """Where an absence report, complaint or format request stands in the staff queue.

    Derived from the item itself on every flush (`bot/db/queue_index.py`), never written by
    hand, so that the queue can be filtered, counted and paged in the database.
    """

    __tablename__ = "queue_items"
    __table_args__ = (
        # A page is a walk along an index in due order, and a count is read from an index
        # alone: the columns after "due, id" are what pages and counts test, so rows are
        # not read only to be turned down (a count tests one kind at a time). Open items:
        # everything; each kind; a kind at a stage (a Senior Probation Officer's stage 1).
        # Closed items apart (history, rarely listed): everything; each kind.
        Index("ix_queue_items_open", "due", "id", "deadline", "about_staff_id", **_OPEN),
        Index("ix_queue_items_kind", "kind", "due", "id", *_TESTED, "task", **_OPEN),
        Index("ix_queue_items_stage", "kind", "stage", "due", "id", **_OPEN),
        Index("ix_queue_items_closed", "due", "id", **_CLOSED),
        Index("ix_queue_items_closed_kind", "kind", "due", "id", *_TESTED, **_CLOSED),
        # One person's caseload and what is assigned to someone, open or closed: a
        # person's share is small, so it is read whole and sorted. The task comes before
        # the due date so that SQLite, which has no statistics, prefers these to the kind
        # indexes above (which walk everyone's items) for a person's next page.
        Index("ix_queue_items_participant", "participant_id", *_PERSONAL),
        # Most items are with nobody: only those with someone, or "with nobody" would
        # look like a good use of this index.
        Index(
            "ix_queue_items_assignee",
            "assignee_id",
            *_PERSONAL,
            sqlite_where=text("assignee_id IS NOT NULL"),
            postgresql_where=text("assignee_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(_value_enum(Kind, 20))
    absence_id: Mapped[int | None] = mapped_column(ForeignKey("absence_reports.id"), unique=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), unique=True)
    format_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("format_requests.id"), unique=True
    )
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    # A complaint's or format request's reference; an absence is known by its number.
    reference: Mapped[str | None] = mapped_column(String(20))
    # What staff must do next; None once nothing is due from them.
    task: Mapped[Task | None] = mapped_column(_value_enum(Task, 20))
    due: Mapped[date] = mapped_column(Date)
    deadline: Mapped[bool] = mapped_column(Boolean)
    # Who works on it: the role, the stage of a complaint, the person asked to take it,
    # and the person a complaint is about (who must never see it).
    queue: Mapped[Role] = mapped_column(_value_enum(Role, 40))
    stage: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    about_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    absence: Mapped[AbsenceReport | None] = relationship(back_populates="queue_item")
    complaint: Mapped[Complaint | None] = relationship(back_populates="queue_item")
    format_request: Mapped[FormatRequest | None] = relationship(back_populates="queue_item")


class SavedReply(Base):
    """A reply staff in one role send often, to start from instead of typing it again."""

    __tablename__ = "saved_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(_value_enum(Role, 40), index=True)
    title: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]


class StaffNote(Base):
    """An internal note on an item (e.g. "absence:12", "complaint:C-7K3QX"); never sent to
    the participant."""

    __tablename__ = "staff_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(40), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]

    staff: Mapped[Staff] = relationship()


class SentReminder(Base):
    """A reminder already queued, so no restart or second process sends it again."""

    __tablename__ = "sent_reminders"
    __table_args__ = (UniqueConstraint("participant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    # e.g. "session:12:evening", "catchup:3:1765468800:before" (moved: reminded again),
    # "sicknote:7:early"
    key: Mapped[str] = mapped_column(String(60))
    queued_at: Mapped[datetime]


class Conversation(Base):
    """A guided conversation in progress, kept in the database so a restart loses nothing."""

    __tablename__ = "conversations"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # One of each kind at a time (an absence report, a complaint...).
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Changes with every new conversation, so buttons from an older one are recognised as stale.
    token: Mapped[str] = mapped_column(String(12))
    step: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]
    # The update that last moved it on: his free text goes to the one he used last.
    last_update_id: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
