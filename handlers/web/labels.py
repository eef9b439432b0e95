"""The words staff read for the codes the services return (a reason, a status, a role, ...).

The services give codes ("ill", "acknowledged", "offender_manager"); each is shown here in
the member of staff's language. A code this module does not know is shown as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.queue import Kind, Task
from bot.services import queue, staff_notes
from handlers.web.i18n import Words


@dataclass(frozen=True, slots=True)
class Labels:
    words: Words

    def _pick(self, code: str | None, names: dict[str, str]) -> str:
        if code is None:
            return ""
        return names.get(code, code)

    def task(self, task: Task | None) -> str:
        t = self.words
        if task is None:
            return t.tr("Closed")
        return {
            Task.DECIDE_ABSENCE: t.tr("Absence to decide"),
            Task.CHECK_SICK_NOTE: t.tr("Sick note to check"),
            Task.ACKNOWLEDGE: t.tr("Complaint to acknowledge"),
            Task.REPLY: t.tr("Complaint to answer"),
            Task.SEND_FORMAT: t.tr("Another language or format"),
        }[task]

    def row(self, row: queue.Row) -> str:
        """A queue row's link: what is to do, and a complaint's stage."""
        label = self.task(row.task)
        if row.kind is Kind.COMPLAINT and row.task is not None and row.stage is not None:
            return self.words.tr("%(task)s (stage %(stage)s)", task=label, stage=row.stage)
        return label

    def kinds(self) -> dict[Kind, str]:
        t = self.words
        return {
            Kind.ABSENCE: t.tr("Absences"),
            Kind.COMPLAINT: t.tr("Complaints"),
            Kind.FORMAT: t.tr("Format requests"),
        }

    def reason(self, code: str | None) -> str:
        t = self.words
        return self._pick(
            code,
            {
                "ill": t.tr("ill"),
                "family": t.tr("family emergency"),
                "work": t.tr("work"),
                "travel": t.tr("travel"),
                "other": t.tr("other"),
            },
        )

    def absence_status(self, code: str | None) -> str:
        t = self.words
        return self._pick(
            code,
            {
                "reported": t.tr("reported"),
                "acceptable": t.tr("acceptable"),
                "unacceptable": t.tr("not acceptable"),
                "withdrawn": t.tr("withdrawn"),
            },
        )

    def category(self, code: str | None) -> str:
        t = self.words
        return self._pick(
            code,
            {
                "unfair": t.tr("unfair treatment"),
                "discrimination_staff": t.tr("discrimination by staff"),
                "discrimination_group": t.tr("discrimination by group members"),
                "other": t.tr("something else"),
            },
        )

    def complaint_status(self, code: str | None) -> str:
        t = self.words
        return self._pick(
            code,
            {
                "received": t.tr("received"),
                "acknowledged": t.tr("acknowledged"),
                "answered": t.tr("answered"),
                "escalated": t.tr("escalated"),
                "closed": t.tr("closed"),
            },
        )

    def entry(self, code: str | None) -> str:
        """A step in a complaint's history."""
        t = self.words
        return self._pick(
            code,
            {
                "description": t.tr("description"),
                "acknowledged": t.tr("acknowledged"),
                "reply": t.tr("reply"),
                "escalation": t.tr("escalation"),
                "satisfied": t.tr("satisfied"),
                "closed": t.tr("closed"),
            },
        )

    def author(self, author: str) -> str:
        t = self.words
        return t.tr("him") if author == "participant" else t.tr("staff")

    def format(self, code: str | None) -> str:
        t = self.words
        return self._pick(
            code,
            {
                "large_print": t.tr("large print"),
                "braille": t.tr("braille"),
                "audio": t.tr("audio"),
                "easy_read": t.tr("easy read"),
                "language": t.tr("another language"),
            },
        )

    def role(self, code: str | None) -> str:
        t = self.words
        return self._pick(
            code,
            {
                "offender_manager": t.tr("Offender Manager"),
                "facilitator": t.tr("Facilitator"),
                "senior_probation_officer": t.tr("Senior Probation Officer"),
                "chief_officer": t.tr("Chief Officer"),
                "contracts_officer": t.tr("Contracts Officer"),
                "admin": t.tr("Admin"),
            },
        )

    def attendance(self, code: str) -> str:
        """The register's choices (`admin.ATTENDANCE_CHOICES`)."""
        t = self.words
        return self._pick(
            code,
            {
                "attended": t.tr("attended"),
                "missed": t.tr("missed"),
                "failed-to-comply": t.tr("failed to comply"),
            },
        )

    def delivery(self, text: str | None) -> str:
        """How a message to him is getting on (`staff_notes.delivery`'s words)."""
        t = self.words
        return self._pick(
            text,
            {
                "queued": t.tr("queued"),
                "sent": t.tr("sent"),
                "failed: participant has blocked the bot": t.tr(
                    "failed: participant has blocked the bot"
                ),
                "failed: Telegram would not take it": t.tr("failed: Telegram would not take it"),
                "not sent: his phone was unlinked": t.tr("not sent: his phone was unlinked"),
            },
        )

    def not_reaching(self, why: str) -> tuple[str, str]:
        """Why messages stop reaching him (`staff_notes.why_failed`'s code), and what staff
        can do about it."""
        t = self.words
        if why == staff_notes.BLOCKED:
            return (
                t.tr("He has blocked the bot."),
                t.tr(
                    "Ask him to open the bot in Telegram and unblock it. Until then he gets no "
                    "reminders."
                ),
            )
        return (
            t.tr("Telegram would not take them."),
            t.tr(
                "His Telegram account may be closed or changed. Check his phone link, and give "
                "him a new code if he needs one."
            ),
        )
