"""The staff queue: one list per person, filtered, counted and paged in the database.

Rows come from `queue_items` (kept in step with the items by a flush hook), so a page costs
the same with a hundred items or a million: keyset pagination on (due, id) over an index.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.models import AbsenceReport, Complaint, FormatRequest, Participant, QueueItem, Staff
from bot.domain import complaints as complaint_rules
from bot.domain import queue as rules
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.queue import Kind, Task
from bot.domain.roles import Role, can_handle_format_requests
from bot.services import absence_review, complaint_review, format_requests
from bot.services.context import ServiceContext, audit
from bot.services.notices import notify_staff, staff_by_email

PAGE_SIZE = 50
# Counting stops here: beyond it a number helps nobody, and counting costs time.
COUNT_CAP = 10_000


class Assignee(enum.StrEnum):
    ANYONE = "anyone"
    ME = "me"
    NOBODY = "nobody"


CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Filters:
    kind: Kind | None = None
    # A task, CLOSED, or None for every open item.
    status: Task | str | None = None
    assignee: Assignee = Assignee.ANYONE
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in the queue: the (due, id) of the row next to it."""

    due: date
    id: int

    def __str__(self) -> str:
        return f"{self.due.isoformat()}_{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        if not text:
            return None
        try:
            day, _, number = text.partition("_")
            return cls(date.fromisoformat(day), int(number))
        except ValueError:
            raise InvalidInput("That page link is not valid.") from None


@dataclass(frozen=True, slots=True)
class Row:
    kind: Kind
    task: Task | None
    reference: str
    first_name: str
    stage: int | None
    due: date
    deadline: bool
    overdue: bool
    assignee: str | None
    path: str  # the item's page


@dataclass(frozen=True, slots=True)
class Counts:
    matching: int
    overdue: int
    by_kind: dict[Kind, int]
    cap: int = COUNT_CAP


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]
    counts: Counts
    next: Cursor | None
    previous: Cursor | None


def visible(viewer: Staff, kind: Kind | None = None) -> ColumnElement[bool]:
    """The queue rows (of `kind`, if given) this person may see: the same rules as the item
    pages (`can_see_absence`, `complaints.admits`, `can_handle_format_requests`)."""
    scope = complaint_rules.scope_for(viewer.id, viewer.role)
    if viewer.role is Role.ADMIN and scope is not None:
        # Every kind, so no test on it: the database can then walk the due-date index.
        return complaint_review.scope_clause(scope, QueueItem)
    # Only the chosen kind's parts, so the database need not look at the others.
    parts = [part for of, part in _parts(viewer) if kind in (None, of)]
    return or_(*parts) if parts else false()


def _parts(viewer: Staff) -> list[tuple[Kind, ColumnElement[bool]]]:
    """`visible` as parts that never overlap, each of one kind and with no OR across
    columns, so each can be counted along one index (an OR makes the database walk every
    open item of the kind instead)."""
    scope = complaint_rules.scope_for(viewer.id, viewer.role)
    if viewer.role is Role.ADMIN and scope is not None:
        rule = complaint_review.scope_clause(scope, QueueItem)
        return [(kind, and_(QueueItem.kind == kind, rule)) for kind in Kind]
    parts: list[tuple[Kind, ColumnElement[bool]]] = []
    if viewer.role is Role.OFFENDER_MANAGER:
        caseload = select(Participant.id).where(Participant.offender_manager_id == viewer.id)
        absence = QueueItem.kind == Kind.ABSENCE
        parts.append((Kind.ABSENCE, and_(absence, QueueItem.participant_id.in_(caseload))))
        parts.append(
            (
                Kind.ABSENCE,
                and_(
                    absence,
                    QueueItem.assignee_id == viewer.id,
                    QueueItem.participant_id.not_in(caseload),
                ),
            )
        )
    if scope is not None:
        parts.append(
            (
                Kind.COMPLAINT,
                and_(
                    QueueItem.kind == Kind.COMPLAINT,
                    complaint_review.scope_clause(scope, QueueItem),
                ),
            )
        )
    if can_handle_format_requests(viewer.role):
        parts.append((Kind.FORMAT, QueueItem.kind == Kind.FORMAT))
    return parts


def _overdue(today: date) -> ColumnElement[bool]:
    """`rules.is_overdue` in SQL."""
    return and_(QueueItem.task.is_not(None), QueueItem.deadline.is_(True), QueueItem.due < today)


def _filtered(filters: Filters, viewer: Staff, today: date) -> list[ColumnElement[bool]]:
    """The filters as WHERE terms, visibility aside."""
    where = []
    if filters.kind is not None:
        where.append(QueueItem.kind == filters.kind)
    if filters.status == CLOSED:
        where.append(QueueItem.task.is_(None))
    elif filters.status is not None:
        where.append(QueueItem.task == Task(filters.status))
    else:
        where.append(QueueItem.task.is_not(None))
    if filters.assignee is Assignee.ME:
        where.append(QueueItem.assignee_id == viewer.id)
    elif filters.assignee is Assignee.NOBODY:
        where.append(QueueItem.assignee_id.is_(None))
    if filters.overdue:
        # `_overdue` less its test on the task, made above (a test twice can lead SQLite
        # to a worse index); closed items are never overdue.
        if filters.status == CLOSED:
            where.append(false())
        else:
            where += [QueueItem.deadline.is_(True), QueueItem.due < today]
    return where


async def _count(
    session: AsyncSession, parts: list[ColumnElement[bool]], where: list[ColumnElement[bool]]
) -> int:
    """Rows in any of `parts` (which never overlap) matching `where`, up to COUNT_CAP + 1:
    one count per part, each stopping once the total is past the cap."""
    total = 0
    for part in parts:
        # A constant, not a column, so PostgreSQL can answer from the index alone.
        capped = (
            select(literal_column("1"))
            .select_from(QueueItem)
            .where(part, *where)
            .limit(COUNT_CAP + 1 - total)
            .subquery()
        )
        total += int(await session.scalar(select(func.count()).select_from(capped)) or 0)
        if total > COUNT_CAP:
            break
    return total


async def list_queue(
    ctx: ServiceContext,
    viewer_email: str,
    filters: Filters = Filters(),
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page of this person's queue, most urgent first."""
    today = ctx.now().astimezone(ctx.profile.zone).date()
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        where = [visible(viewer, filters.kind), *_filtered(filters, viewer, today)]
        key = tuple_(QueueItem.due, QueueItem.id)
        query = _rows_query(where)
        if before is not None:
            query = query.where(key < tuple_(before.due, before.id)).order_by(
                QueueItem.due.desc(), QueueItem.id.desc()
            )
        else:
            if after is not None:
                query = query.where(key > tuple_(after.due, after.id))
            query = query.order_by(QueueItem.due, QueueItem.id)
        found = [
            (item, _row(item, name, assignee, today))
            for item, name, assignee in await session.execute(query.limit(limit + 1))
        ]
        more = len(found) > limit
        found = found[:limit]
        if before is not None:
            found.reverse()
        parts = _parts(viewer)
        unkinded = _filtered(dataclasses.replace(filters, kind=None), viewer, today)
        by_kind = {
            k: await _count(session, [part for kind, part in parts if kind is k], unkinded)
            for k in Kind
        }
        matching = by_kind[filters.kind] if filters.kind else sum(by_kind.values())
        counts = Counts(
            # The kinds' counts add up to it, unless a kind is chosen.
            matching=matching,
            overdue=min(matching, COUNT_CAP + 1)
            if filters.overdue
            else await _count(
                session,
                [part for kind, part in parts if filters.kind in (None, kind)],
                _filtered(dataclasses.replace(filters, kind=None, overdue=True), viewer, today),
            ),
            by_kind=by_kind,
        )
    has_next = more if before is None else True
    has_previous = (after is not None) if before is None else more
    return Page(
        [row for _, row in found],
        counts,
        next=Cursor(found[-1][0].due, found[-1][0].id) if has_next and found else None,
        previous=Cursor(found[0][0].due, found[0][0].id) if has_previous and found else None,
    )


def _rows_query(where: list[ColumnElement[bool]]) -> Select[QueueItem, str, str]:
    assignee = aliased(Staff)
    return (
        select(QueueItem, Participant.name, assignee.name)
        .join(Participant, Participant.id == QueueItem.participant_id)
        .outerjoin(assignee, assignee.id == QueueItem.assignee_id)
        .where(*where)
    )


def _row(item: QueueItem, first_name: str, assignee: str | None, today: date) -> Row:
    entry = rules.Entry(item.task, item.due, item.deadline)
    if item.kind is Kind.ABSENCE:
        reference, path = f"#{item.absence_id}", f"/absences/{item.absence_id}"
    elif item.kind is Kind.COMPLAINT:
        reference = item.reference or ""
        path = f"/complaints/{reference}"
    else:
        reference, path = item.reference or "", f"/format-requests/{item.format_request_id}"
    return Row(
        kind=item.kind,
        task=item.task,
        reference=reference,
        first_name=first_name,
        stage=item.stage,
        due=item.due,
        deadline=item.deadline,
        overdue=rules.is_overdue(entry, today),
        assignee=assignee,
        path=path,
    )


# Assigning to a colleague


@dataclass(frozen=True, slots=True)
class Colleague:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who has an item now, and who else could take it."""

    assignee: Colleague | None
    candidates: list[Colleague]
    # Some items must always be with someone (see `rules.needs_assignee`).
    required: bool


Assignable = AbsenceReport | Complaint | FormatRequest


async def _item(
    session: AsyncSession, viewer: Staff, kind: Kind, key: str
) -> tuple[Assignable, QueueItem]:
    """An item this person may see, and its queue row (else as if it did not exist)."""
    target: Assignable | None = None
    if kind is Kind.ABSENCE:
        if key.isdigit() and len(key) < 19:
            target = await absence_review.report_for(session, int(key), viewer.email)
        column = QueueItem.absence_id
    elif kind is Kind.COMPLAINT:
        target = await complaint_review.visible_complaint(session, viewer, key)
        column = QueueItem.complaint_id
    else:
        if key.isdigit() and len(key) < 19:
            target = await format_requests.request_for(session, int(key), viewer.email)
        column = QueueItem.format_request_id
    item = (
        None
        if target is None
        else await session.scalar(select(QueueItem).where(column == target.id))
    )
    if target is None or item is None:
        raise NotFound("There is no such item in your queue.")
    return target, item


async def _candidates(session: AsyncSession, item: QueueItem) -> list[Staff]:
    role = rules.handling_role(item.kind, item.queue)
    found = await session.scalars(
        select(Staff).where(Staff.role == role, Staff.active.is_(True)).order_by(Staff.name)
    )
    return [s for s in found if rules.can_take(s.id, s.role, role, item.about_staff_id)]


async def assignment(ctx: ServiceContext, viewer_email: str, kind: Kind, key: str) -> Assignment:
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        _, item = await _item(session, viewer, kind, key)
        current = await session.get(Staff, item.assignee_id) if item.assignee_id else None
        return Assignment(
            Colleague(current.id, current.name) if current else None,
            [Colleague(s.id, s.name) for s in await _candidates(session, item)],
            rules.needs_assignee(item.kind, item.queue),
        )


async def assign(
    ctx: ServiceContext, viewer_email: str, kind: Kind, key: str, assignee_id: int | None
) -> bool:
    """Ask a colleague to take an item, or (None) give it back to everyone in the role.
    The colleague gets the neutral Telegram alert; the change is audited. Returns whether
    the person who assigned it can still see it."""
    async with ctx.uow() as session:
        viewer = await staff_by_email(session, viewer_email)
        target, item = await _item(session, viewer, kind, key)
        colleague = None
        if assignee_id is not None:
            candidates = await _candidates(session, item)
            colleague = next((s for s in candidates if s.id == assignee_id), None)
            if colleague is None:
                raise InvalidInput("Choose a colleague who works on this kind of item.")
        elif rules.needs_assignee(item.kind, item.queue):
            raise InvalidInput("Choose the colleague who should take it.")
        target.assignee_id = assignee_id
        audit(
            session,
            f"staff:{viewer.id}",
            "queue.assign",
            f"{kind.value}:{target.id}",
            assignee=f"staff:{assignee_id}" if assignee_id else None,
        )
        if colleague is not None and colleague.id != viewer.id:
            notify_staff(ctx, session, colleague)
        await session.flush()
        still_visible = await session.scalar(
            select(func.count()).where(QueueItem.id == item.id, visible(viewer))
        )
        await session.commit()
    return bool(still_visible)


async def overdue_count(ctx: ServiceContext) -> int:
    """Open items past a deadline, across every queue (for monitoring, not for staff)."""
    today = ctx.now().astimezone(ctx.profile.zone).date()
    async with ctx.uow() as session:
        # Kind by kind, so each count walks the kind index, not every open item.
        found = 0
        for kind in Kind:
            found += int(
                await session.scalar(
                    select(func.count())
                    .select_from(QueueItem)
                    .where(QueueItem.kind == kind, _overdue(today))
                )
                or 0
            )
        return found
