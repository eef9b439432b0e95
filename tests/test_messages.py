"""Discretion: a lock screen shows the first line of a message, so it must never say what
the programme is about."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot import messages
from bot.config import EXAMPLE_PROFILE, load_profile
from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.attendance import AttendanceSummary
from bot.i18n import Catalogs

SUBJECT = re.compile(r"offen[cds]|sex|internet|i-sotp|treatment|probation|court|prison", re.I)
OM = messages.StaffContact("Dana Fictional", "01234 567890")


def _all_messages() -> dict[str, str]:
    t = Catalogs().translator("en")
    summary = AttendanceSummary(35, 3, 3, 5, 0, 4)
    at = datetime(2026, 12, 3, 18, tzinfo=UTC)
    upcoming = messages.NextSession(at, "Room 2")
    return {
        "welcome": messages.welcome(t, "Sam"),
        "greeting": messages.greeting(t, "Sam"),
        "not_enrolled": messages.not_enrolled(t),
        "code_not_recognised": messages.code_not_recognised(t, 3),
        "code_used": messages.code_used(t),
        "code_expired": messages.code_expired(t),
        "too_many_tries": messages.too_many_tries(t, datetime(2026, 12, 3, 18, tzinfo=UTC)),
        "unlinked_elsewhere": messages.unlinked_elsewhere(t),
        "progress": messages.progress(t, summary, upcoming, OM),
        "contacts": messages.contacts(t, load_profile(EXAMPLE_PROFILE), OM),
        "help": messages.help_text(t),
        "unknown_command": messages.unknown_command(t),
        "not_understood": messages.not_understood(t),
        "unsupported": messages.unsupported_content(t),
        "too_long": messages.too_long(t),
        "private_chats_only": messages.private_chats_only(t),
        # Sent unprompted, so their first line is what a lock screen shows.
        "session_reminder_evening": messages.session_reminder(t, at, "Room 2", True, False),
        "session_reminder_soon": messages.session_reminder(t, at, "Room 2", False, False),
        "catch_up_reminder": messages.session_reminder(t, at, None, True, True),
        "sick_note_reminder_early": messages.sick_note_reminder_early(t, at.date(), at),
        "sick_note_reminder_last_day": messages.sick_note_reminder_last_day(t, at),
        "sick_note_marked_received": messages.sick_note_marked_received(t, at),
        "decision_acceptable": messages.decision_acceptable(t, at),
        "decision_unacceptable": messages.decision_unacceptable(t, at),
        "restart_notice": messages.restart_notice(t, 5, 4, OM),
        "reminders_choose": messages.reminders_choose(t, "both", 2),
        "complaint_acknowledged": messages.complaint_acknowledged(t, "C-7K3QX", at.date()),
        "complaint_reply": messages.complaint_reply(t, "C-7K3QX", "Chief Officer", "Sorry."),
        "format_done": messages.format_done(t, "F-7K3QX", "It is ready."),
        "rights": messages.rights(t, "Senior Probation Officer", "Chief Officer", "1", "x"),
        "conditions": messages.conditions(t),
        "complaint_received": messages.complaint_received(t, "C-7K3QX", at.date(), "SPO"),
        "ombudsman": messages.ombudsman(t, "C-7K3QX", 3, "Address", "020", "www.example.org"),
        "complaint_reply_choices": messages.complaint_reply_choices(t, "Chief Officer", at.date()),
        "escalation_check": messages.complaint_escalation_check(t, "C-7K3QX", "Chief", "No."),
        "file_wrong_type": messages.file_wrong_type(t),
        "file_too_big": messages.file_too_big(t, 10),
        "file_not_now": messages.file_not_now(t),
        "absence_already_reported": messages.absence_already_reported(
            t, at, Reason.ILL, AbsenceStatus.UNACCEPTABLE
        ),
    }


def test_no_first_line_names_the_programme_subject() -> None:
    for name, text in _all_messages().items():
        first_line = text.splitlines()[0]
        assert not SUBJECT.search(first_line), (name, first_line)


def test_messages_fit_in_one_telegram_message() -> None:
    for name, text in _all_messages().items():
        assert 0 < len(text) <= 4096, name


def test_example_profile_display_name_is_neutral() -> None:
    assert not SUBJECT.search(load_profile(EXAMPLE_PROFILE).programme.display_name)


def test_a_staff_alert_links_the_dashboard_and_says_nothing_else() -> None:
    t = Catalogs().translator("en")
    assert messages.staff_new_item(t, None) == "New item in your queue."
    assert messages.staff_new_item(t, "https://queue.example.org") == (
        "New item in your queue: https://queue.example.org"
    )
