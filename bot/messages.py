"""What participants read: whole translated sentences built from view data.

Every function takes the participant's `Translator` and returns final text (or a keyboard
as a Bot API JSON object), so services can write it straight to the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.config import Profile
from bot.domain.absence import AbsenceStatus, Reason
from bot.domain.attendance import AttendanceSummary
from bot.domain.complaints import Category
from bot.domain.complaints import Status as ComplaintStatus
from bot.i18n import N_, Translator

# The example profile's role titles, translated when they fill a sentence (an area that
# names a role otherwise gets its own words, untranslated).
ROLE_TITLES = (
    N_("Offender Manager"),
    N_("Senior Probation Officer"),
    N_("Chief Officer"),
    N_("Contracts Officer"),
)

# Main menu labels: translated when sent, recognised in any language when pressed.
MENU_PROGRESS = N_("My progress")
MENU_CONTACTS = N_("Contacts")
MENU_HELP = N_("Help")
MENU_ABSENCE = N_("I can't come")
MENU_RIGHTS = N_("My rights")
MENU_COMPLAINT = N_("Make a complaint")
# The globe stays in every language, so he can find it when he cannot read the word.
MENU_LANGUAGE = N_("🌐 Language")
MENU_ACTIONS = {
    MENU_ABSENCE: "absence",
    MENU_RIGHTS: "rights",
    MENU_COMPLAINT: "complaint",
    MENU_PROGRESS: "progress",
    MENU_CONTACTS: "contacts",
    MENU_HELP: "help",
    MENU_LANGUAGE: "language",
}


def main_menu(t: Translator) -> dict[str, Any]:
    """The reply keyboard under the chat: only features that work."""
    return {
        "keyboard": [
            [{"text": t._(MENU_ABSENCE)}],
            [{"text": t._(MENU_PROGRESS)}, {"text": t._(MENU_CONTACTS)}],
            [{"text": t._(MENU_RIGHTS)}, {"text": t._(MENU_COMPLAINT)}],
            [{"text": t._(MENU_HELP)}, {"text": t._(MENU_LANGUAGE)}],
        ],
        "resize_keyboard": True,
        "is_persistent": True,
    }


@dataclass(frozen=True, slots=True)
class StaffContact:
    name: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class NextSession:
    starts_at: datetime  # in the area's local time
    venue: str | None


def om_contact(t: Translator, om: StaffContact) -> str:
    if om.phone:
        return t._("Your Offender Manager is {name}. Phone: {phone}").format(
            name=om.name, phone=om.phone
        )
    return t._("Your Offender Manager is {name}.").format(name=om.name)


def welcome(t: Translator, first_name: str) -> str:
    return t._(
        "Welcome, {name}. This phone is now linked to your account.\n\n"
        "Use the buttons below. You can see how many sessions you have done, "
        "and who to contact."
    ).format(name=first_name)


def greeting(t: Translator, first_name: str) -> str:
    return t._("Hello, {name}. Use the buttons below, or send /help.").format(name=first_name)


def not_enrolled(t: Translator) -> str:
    return t._(
        "Hello. To use this chat you need a code.\n\n"
        "Your Offender Manager can give you one. "
        "Then send /start and your code, like this: /start ABCDE-12345"
    )


def code_not_recognised(t: Translator, tries_left: int) -> str:
    return t.ngettext(
        "That code did not work. Please check it and try again. "
        "You can try {n} more time this hour.",
        "That code did not work. Please check it and try again. "
        "You can try {n} more times this hour.",
        tries_left,
    ).format(n=tries_left)


def code_used(t: Translator) -> str:
    return t._(
        "That code has been used already. Each code works only once.\n\n"
        "Please ask your Offender Manager for a new code."
    )


def code_expired(t: Translator) -> str:
    return t._(
        "That code is too old, so it does not work now.\n\n"
        "Please ask your Offender Manager for a new code."
    )


def too_many_tries(t: Translator, until: datetime) -> str:
    return t._(
        "You have tried too many wrong codes. Please wait until {time} and try again."
    ).format(time=t.time(until))


def unlinked_elsewhere(t: Translator) -> str:
    # Sent unprompted to the old phone: neutral words only, nothing about the programme.
    return t._(
        "This chat is no longer linked to your account. Your account is now used on another "
        "phone.\n\nIf you did not do this, call your Offender Manager straight away."
    )


def progress(
    t: Translator,
    summary: AttendanceSummary,
    next_session: NextSession | None,
    om: StaffContact,
) -> str:
    lines = [
        t._("Your progress"),
        t._("You have done {done} of {required} sessions.").format(
            done=summary.sessions_completed, required=summary.sessions_required
        ),
    ]
    if summary.restart_required:
        lines.append(
            t.ngettext(
                "You have missed {missed} session. Only {max} can be caught up.",
                "You have missed {missed} sessions. Only {max} can be caught up.",
                summary.sessions_missed,
            ).format(missed=summary.sessions_missed, max=summary.max_catch_ups)
        )
        lines.append(
            t._(
                "This can mean you must start the programme again. "
                "Please talk to your Offender Manager about it soon."
            )
        )
    else:
        lines.append(
            t.ngettext(
                "You have used {used} of your {max} catch-ups. You have {left} catch-up left.",
                "You have used {used} of your {max} catch-ups. You have {left} catch-ups left.",
                summary.catch_ups_left,
            ).format(
                used=summary.catch_ups_used,
                max=summary.max_catch_ups,
                left=summary.catch_ups_left,
            )
        )
    if not summary.restart_required and summary.catch_ups_outstanding > 0:
        lines.append(
            t.ngettext(
                "You have {n} catch-up session to do. You must do it before your next group "
                "session.",
                "You have {n} catch-up sessions to do. You must do them before your next group "
                "session.",
                summary.catch_ups_outstanding,
            ).format(n=summary.catch_ups_outstanding)
        )
    if next_session is None:
        lines.append(t._("There are no more group sessions planned for you."))
    elif next_session.venue:
        lines.append(
            t._("Your next group session is on {date} at {time}. Place: {place}").format(
                date=t.date(next_session.starts_at.date()),
                time=t.time(next_session.starts_at),
                place=next_session.venue,
            )
        )
    else:
        lines.append(
            t._("Your next group session is on {date} at {time}.").format(
                date=t.date(next_session.starts_at.date()), time=t.time(next_session.starts_at)
            )
        )
    lines.append(om_contact(t, om))
    return "\n\n".join(lines)


def contacts(t: Translator, profile: Profile, om: StaffContact) -> str:
    area = profile.area
    lines = [
        t._("Contacts"),
        om_contact(t, om),
        t._("Office: {name}, {address}").format(name=area.name, address=area.address),
        t._("Phone: {phone}").format(phone=area.telephone),
    ]
    if area.fax:
        lines.append(t._("Fax: {fax}").format(fax=area.fax))
    if area.web:
        lines.append(t._("Website: {web}").format(web=area.web))
    return "\n".join(lines)


def help_text(t: Translator) -> str:
    return "\n\n".join(
        [
            t._("What I can do"),
            t._("/absence tells your Offender Manager you cannot come to a session."),
            t._("/progress shows how many sessions you have done and your catch-ups."),
            t._("/contacts shows who to call and how."),
            t._("/reminders lets you choose your session reminders."),
            t._("/rights shows your rights. /conditions shows what you agreed to."),
            t._("/complaint lets you make a complaint. /complaints shows the ones you made."),
            t._("/format asks for this information in another language or format."),
            t._("/language changes the language I write in."),
            t._("/help shows this list."),
            t._("If you cannot come to a session, call your Offender Manager straight away."),
        ]
    )


def unknown_command(t: Translator) -> str:
    return t._("Sorry, I do not know that command. Send /help to see what I can do.")


def not_understood(t: Translator) -> str:
    return t._("Sorry, I did not understand that. Please use the buttons below, or send /help.")


def unsupported_content(t: Translator) -> str:
    return t._("Sorry, I can only read text here. Please use the buttons below, or send /help.")


def too_long(t: Translator) -> str:
    return t._("Sorry, that message is too long for me. Please use the buttons below.")


def private_chats_only(t: Translator) -> str:
    return t._("Sorry, I only work in private chats. I will leave this group now.")


# --- Reporting an absence -------------------------------------------------------------------

REASON_LABELS = {
    Reason.ILL: N_("I am ill"),
    Reason.FAMILY_EMERGENCY: N_("Family emergency"),
    Reason.WORK: N_("Work"),
    Reason.TRAVEL: N_("Travel problem"),
    Reason.OTHER: N_("Something else"),
}


def inline(rows: list[list[tuple[str, str]]]) -> dict[str, Any]:
    """An inline keyboard from rows of (label, callback data)."""
    return {
        "inline_keyboard": [
            [{"text": text, "callback_data": data} for text, data in row] for row in rows
        ]
    }


def session_label(t: Translator, starts_at: datetime) -> str:
    return t._("{date} at {time}").format(date=t.date(starts_at.date()), time=t.time(starts_at))


def absence_choose_session(t: Translator) -> str:
    return t._("Which session can you not come to? Tap one below.")


def absence_no_sessions(t: Translator, om: StaffContact) -> str:
    return "\n\n".join([t._("There is no session you can report right now."), om_contact(t, om)])


def absence_choose_reason(t: Translator) -> str:
    return t._("Why can you not come? Tap one below.")


def absence_ask_details(t: Translator, optional: bool) -> str:
    if optional:
        return t._(
            "Please tell us in a few words what is wrong. Write it below. You can also tap Skip."
        )
    return t._("Please tell us in a few words what happened. Write it below.")


def absence_summary(t: Translator, session: datetime, reason: Reason, details: str | None) -> str:
    lines = [
        t._("Please check your report."),
        t._("Session: {session}").format(session=session_label(t, session)),
        t._("Reason: {reason}").format(reason=t._(REASON_LABELS[reason])),
    ]
    if details:
        lines.append(t._("Your words: {words}").format(words=details))
    return "\n".join(lines)


def absence_sent(t: Translator, om: StaffContact) -> str:
    if om.phone:
        return t._(
            "Thank you. Your report has been sent to your Offender Manager, {name}.\n\n"
            "You must also call them straight away: {phone}"
        ).format(name=om.name, phone=om.phone)
    return t._(
        "Thank you. Your report has been sent to your Offender Manager, {name}.\n\n"
        "You must also contact them straight away."
    ).format(name=om.name)


def absence_sick_note(t: Translator, due: date) -> str:
    return t._(
        "You are ill, so you need a sick note (a self-certificate). "
        "Your Offender Manager must get it by {date}."
    ).format(date=t.date(due))


def reported_session_label(t: Translator, starts_at: datetime) -> str:
    return t._("{date} at {time} (already told)").format(
        date=t.date(starts_at.date()), time=t.time(starts_at)
    )


ABSENCE_STATUS_TEXT = {
    AbsenceStatus.REPORTED: N_("Your Offender Manager has not decided about it yet."),
    AbsenceStatus.ACCEPTABLE: N_("Your Offender Manager has accepted your reason."),
    AbsenceStatus.UNACCEPTABLE: N_("Your Offender Manager has not accepted your reason."),
    AbsenceStatus.WITHDRAWN: N_("This report was taken back."),
}


def absence_already_reported(
    t: Translator, session: datetime, reason: Reason, status: AbsenceStatus
) -> str:
    return "\n\n".join(
        [
            t._(
                "You have already told us about the session on {session}. "
                "Your reason was: {reason}. You do not need to tell us again."
            ).format(session=session_label(t, session), reason=t._(REASON_LABELS[reason])),
            t._(ABSENCE_STATUS_TEXT[status]),
        ]
    )


def absence_cancelled(t: Translator) -> str:
    return t._("OK. Nothing has been sent.")


STALE_BUTTON = N_("This button does not work any more.")
BUTTON_CANCEL = N_("Cancel")
BUTTON_SKIP = N_("Skip")
BUTTON_SEND = N_("Send it")
BUTTON_CHANGE = N_("Change it")
BUTTON_CANT_ATTEND = N_("I can't attend")


# --- Sick notes -----------------------------------------------------------------------------


def sick_note_received(t: Translator, session: datetime) -> str:
    return t._(
        "Thank you. I have sent your sick note to your Offender Manager. "
        "It is for the session on {session}."
    ).format(session=session_label(t, session))


def sick_note_not_needed(t: Translator) -> str:
    return t._(
        "Thank you, but you have no absence that needs a sick note, so I have not kept this "
        'file.\n\nIf you are ill and cannot come, tap "I can\'t come" first.'
    )


def file_wrong_type(t: Translator) -> str:
    return t._("Sorry, I cannot take this kind of file. Please send a photo, or a PDF file.")


def file_too_big(t: Translator, megabytes: int) -> str:
    return t._(
        "Sorry, this file is too big. It must be smaller than {size} MB. "
        "Please send a photo instead."
    ).format(size=megabytes)


def file_not_now(t: Translator) -> str:
    return t._("Please finish the steps above first, or tap Cancel. I have not kept this file.")


def sick_note_reminder_early(t: Translator, due: date, session: datetime) -> str:
    # Sent unprompted: the first line says only that it is a reminder.
    return t._(
        "Reminder: your sick note is needed by {date}.\n\n"
        "Your Offender Manager must get it by then. It is for the session on {session}. "
        "You can send a photo of it here, or give it to them."
    ).format(date=t.date(due), session=session_label(t, session))


def sick_note_reminder_last_day(t: Translator, session: datetime) -> str:
    return t._(
        "Reminder: today is the last day for your sick note.\n\n"
        "Your Offender Manager must get it today. It is for the session on {session}. "
        "You can send a photo of it here, or give it to them."
    ).format(session=session_label(t, session))


def sick_note_marked_received(t: Translator, session: datetime) -> str:
    return t._(
        "Update about your sick note.\n\n"
        "Your Offender Manager has your sick note for the session on {session}. Thank you."
    ).format(session=session_label(t, session))


# --- Decisions ------------------------------------------------------------------------------


def decision_acceptable(t: Translator, session: datetime) -> str:
    # Sent unprompted: a neutral first line.
    return t._(
        "Update about your session on {session}.\n\n"
        "Your Offender Manager has accepted your reason. "
        "You still need to do a catch-up for it."
    ).format(session=session_label(t, session))


def decision_unacceptable(t: Translator, session: datetime) -> str:
    return t._(
        "Update about your session on {session}.\n\n"
        "Your Offender Manager has not accepted your reason. "
        "You still need to do a catch-up for it.\n\n"
        "Missing a session for a reason that is not accepted can lead to a warning. "
        "Or you may have to go back to court. "
        "Your Offender Manager will talk to you about what happens next."
    ).format(session=session_label(t, session))


def message_from_om(t: Translator, text: str) -> str:
    return t._("Message from your Offender Manager: {message}").format(message=text)


def restart_notice(t: Translator, missed: int, max_catch_ups: int, om: StaffContact) -> str:
    # Sent unprompted: a neutral first line, then the plain facts.
    return "\n\n".join(
        [
            t._("Update about your sessions."),
            t.ngettext(
                "You have now missed {missed} session. Only {max} can be caught up.",
                "You have now missed {missed} sessions. Only {max} can be caught up.",
                missed,
            ).format(missed=missed, max=max_catch_ups),
            t._(
                "This means you would have to start the programme again. "
                "Please speak to your Offender Manager about it soon."
            ),
            om_contact(t, om),
        ]
    )


# --- Session reminders ----------------------------------------------------------------------


def catch_up_first(t: Translator, om: StaffContact) -> str:
    """For a man who may not join the group yet (a catch-up to do, or past the allowance)."""
    if om.phone:
        return t._(
            "You may not be able to join this session yet. This is because of the sessions "
            "you missed. Please call your Offender Manager before you come: {phone}"
        ).format(phone=om.phone)
    return t._(
        "You may not be able to join this session yet. This is because of the sessions you "
        "missed. Please contact your Offender Manager before you come."
    )


def session_reminder(
    t: Translator, starts_at: datetime, venue: str | None, evening: bool, catch_up: bool
) -> str:
    """Day, time and place, then the two conditions most often broken."""
    if catch_up:
        first = (
            t._("Reminder: you have a catch-up session tomorrow.")
            if evening
            else t._("Reminder: your catch-up session starts soon.")
        )
    else:
        first = (
            t._("Reminder: you have a group session tomorrow.")
            if evening
            else t._("Reminder: your group session starts soon.")
        )
    when = t._("When: {date} at {time}").format(
        date=t.date(starts_at.date()), time=t.time(starts_at)
    )
    lines = [first, when]
    if venue:
        lines.append(t._("Where: {place}").format(place=venue))
    rules = "\n".join(
        [
            t._("Please arrive on time and stay to the end."),
            t._("Please come with a clear head: no drugs, alcohol or solvents."),
        ]
    )
    return "\n".join(lines) + "\n\n" + rules


def catch_up_reminder_contact(t: Translator, om: StaffContact) -> str:
    if om.phone:
        return t._("If you cannot come, call your Offender Manager straight away: {phone}").format(
            phone=om.phone
        )
    return t._("If you cannot come, contact your Offender Manager straight away.")


REMINDER_CHOICES = {
    "both": N_("Both"),
    "evening": N_("Only the evening before"),
    "before": N_("Only on the day"),
    "none": N_("No reminders"),
}


def reminders_choose(t: Translator, current: str, hours: int) -> str:
    return "\n\n".join(
        [
            t.ngettext(
                "I can remind you about each session the evening before, and {hours} hour "
                "before it starts.",
                "I can remind you about each session the evening before, and {hours} hours "
                "before it starts.",
                hours,
            ).format(hours=hours),
            t._("Now you get: {choice}").format(choice=t._(REMINDER_CHOICES[current])),
            t._("What would you like? Tap one below."),
        ]
    )


def reminders_saved(t: Translator, choice: str) -> str:
    return t._("Saved. You will get: {choice}").format(choice=t._(REMINDER_CHOICES[choice]))


# --- Staff notices (sent to staff who linked Telegram; English, minimal personal data) -----


def staff_linked(t: Translator, name: str) -> str:
    # Translators: staff notice (sent to staff in English only), not for participants.
    return t._(
        "Hello, {name}. This chat will now send you notices about your caseload. "
        "Please answer participants from the dashboard or the command line."
    ).format(name=name)


def staff_chat_only(t: Translator) -> str:
    # Translators: staff notice (sent to staff in English only), not for participants.
    return t._("This chat only sends you notices. Please use the dashboard to answer.")


# --- Complaints and concerns ----------------------------------------------------------------

CATEGORY_LABELS = {
    Category.UNFAIR: N_("I was treated unfairly"),
    Category.DISCRIMINATION_STAFF: N_("Discrimination by staff"),
    Category.DISCRIMINATION_GROUP: N_("Discrimination by group members"),
    Category.OTHER: N_("Something else"),
}
COMPLAINT_STATUS_LABELS = {
    ComplaintStatus.RECEIVED: N_("Received"),
    ComplaintStatus.ACKNOWLEDGED: N_("Being looked at"),
    ComplaintStatus.ANSWERED: N_("Answered"),
    ComplaintStatus.ESCALATED: N_("Sent to stage 2"),
    ComplaintStatus.CLOSED: N_("Closed"),
}
BUTTON_SOMEONE_ELSE = N_("Someone else")
BUTTON_RATHER_NOT_SAY = N_("I'd rather not say")
BUTTON_DONE = N_("Done")
BUTTON_SATISFIED = N_("I'm satisfied")
BUTTON_NOT_SATISFIED = N_("I'm not satisfied")


def isolate(text: str) -> str:
    """Wrap a reference or number so right-to-left text around it reads correctly."""
    return f"\u2068{text}\u2069"


def complaint_choose_category(t: Translator) -> str:
    return t._("What is your complaint about? Tap one below.")


def complaint_choose_person(t: Translator) -> str:
    return t._(
        "Is it about one person on the staff? Tap their name, or another button.\n\n"
        "The person you name will not see your complaint."
    )


def staff_button_label(t: Translator, name: str, is_offender_manager: bool) -> str:
    if is_offender_manager:
        return t._("{name} (your Offender Manager)").format(name=name)
    return name


def complaint_ask_details(t: Translator, max_length: int) -> str:
    return t._(
        "Please tell us what happened, in your own words. Write it below. "
        "You can send more than one message, and a photo or a document too.\n\n"
        "Tap Done when you have finished. You can write up to {max} letters."
    ).format(max=max_length)


def complaint_details_added(t: Translator, used: int, max_length: int) -> str:
    return t._(
        "Got it. You can send more, or tap Done. You have used {used} of {max} letters."
    ).format(used=used, max=max_length)


def complaint_details_too_long(t: Translator, left: int) -> str:
    return t._(
        "Sorry, that is too long. I have kept what you sent before, but not this message. "
        "You have {left} letters left. Please make it shorter, or split it into parts."
    ).format(left=left)


def complaint_details_needed(t: Translator) -> str:
    return t._("Please write what happened first. Then tap Done.")


def complaint_file_added(t: Translator) -> str:
    return t._("Thank you. I have added this file. You can send more, or tap Done.")


def complaint_summary(
    t: Translator, category: Category, person: str | None, words: str, files: int
) -> str:
    lines = [
        t._("Please check your complaint."),
        t._("About: {category}").format(category=t._(CATEGORY_LABELS[category])),
    ]
    if person:
        lines.append(t._("Person: {person}").format(person=person))
    lines.append(t._("Your words: {words}").format(words=words))
    if files:
        lines.append(t.ngettext("Files: {n} file", "Files: {n} files", files).format(n=files))
    return "\n".join(lines)


def complaint_received(t: Translator, reference: str, reply_by: date, handler: str) -> str:
    return t._(
        "Thank you. Your complaint has been sent to the {handler}.\n\n"
        "Your reference is {reference}. You should get an answer by {date}.\n\n"
        "You can see it at any time with /complaints."
    ).format(handler=t._(handler), reference=isolate(reference), date=t.date(reply_by))


def complaint_too_many_open(t: Translator, max_open: int, phone: str) -> str:
    return t._(
        "You already have {max} complaints waiting for an answer. Please wait for those "
        "answers first. If it is urgent, call the office: {phone}"
    ).format(max=max_open, phone=phone)


def complaints_none(t: Translator) -> str:
    return t._("You have not made any complaints. To make one, send /complaint.")


def complaints_list(t: Translator, lines: list[str]) -> str:
    return "\n\n".join([t._("Your complaints"), *lines, t._("Tap one to see what has happened.")])


def complaint_list_line(
    t: Translator, reference: str, stage: int, status: ComplaintStatus, reply_by: date | None
) -> str:
    if reply_by is None:
        return t._("{reference}: stage {stage}. {status}.").format(
            reference=isolate(reference), stage=stage, status=t._(COMPLAINT_STATUS_LABELS[status])
        )
    return t._("{reference}: stage {stage}. {status}. Answer due by {date}.").format(
        reference=isolate(reference),
        stage=stage,
        status=t._(COMPLAINT_STATUS_LABELS[status]),
        date=t.date(reply_by),
    )


def complaint_button_label(t: Translator, reference: str, status: ComplaintStatus) -> str:
    return t._("{reference}: {status}").format(
        reference=isolate(reference), status=t._(COMPLAINT_STATUS_LABELS[status])
    )


def complaint_history_header(
    t: Translator,
    reference: str,
    category: Category,
    stage: int,
    status: ComplaintStatus,
    reply_by: date | None,
) -> str:
    lines = [
        t._("Complaint {reference}").format(reference=isolate(reference)),
        t._("About: {category}").format(category=t._(CATEGORY_LABELS[category])),
        t._("Stage {stage}. Now: {status}").format(
            stage=stage, status=t._(COMPLAINT_STATUS_LABELS[status])
        ),
    ]
    if reply_by is not None:
        lines.append(t._("Answer due by {date}").format(date=t.date(reply_by)))
    return "\n".join(lines)


def history_you_wrote(t: Translator, when: date, words: str) -> str:
    return t._("{date}, you wrote: {words}").format(date=t.date(when), words=words)


def history_reply(t: Translator, when: date, handler: str, words: str) -> str:
    return t._("{date}, the {handler} answered: {words}").format(
        date=t.date(when), handler=t._(handler), words=words
    )


def history_acknowledged(t: Translator, when: date) -> str:
    return t._("{date}: your complaint was read.").format(date=t.date(when))


def history_escalated(t: Translator, when: date, words: str) -> str:
    return t._("{date}, you asked for stage 2: {words}").format(date=t.date(when), words=words)


def history_closed(t: Translator, when: date) -> str:
    return t._("{date}: closed.").format(date=t.date(when))


def complaint_acknowledged(t: Translator, reference: str, reply_by: date) -> str:
    # Sent unprompted: a neutral first line.
    return t._(
        "Update about {reference}.\n\n"
        "Your complaint has been read. You should get an answer by {date}."
    ).format(reference=isolate(reference), date=t.date(reply_by))


def complaint_reply(t: Translator, reference: str, handler: str, words: str) -> str:
    return t._("Update about {reference}.\n\nThe {handler} has answered:\n{words}").format(
        reference=isolate(reference), handler=t._(handler), words=words
    )


def complaint_reply_choices(t: Translator, chief_officer: str, until: date) -> str:
    return t._(
        "Are you happy with this answer? If you are not, you can ask the {chief} to look at "
        "it again, until {date}."
    ).format(chief=t._(chief_officer), date=t.date(until))


def complaint_closed_by_reply(t: Translator) -> str:
    return t._("This complaint is now closed.")


def ombudsman(
    t: Translator, reference: str, months: int, address: str, phone: str, web: str
) -> str:
    # Its own message, so its first line is what a lock screen shows: neutral.
    return "\n\n".join(
        [
            t._("What you can do next about {reference}.").format(reference=isolate(reference)),
            t.ngettext(
                "If you are still not happy, you can ask the Prisons and Probation Ombudsman "
                "to look at it. You must do this within {months} month of this answer.",
                "If you are still not happy, you can ask the Prisons and Probation Ombudsman "
                "to look at it. You must do this within {months} months of this answer.",
                months,
            ).format(months=months),
            t._("Write to: {address}\nPhone: {phone}\nWebsite: {web}").format(
                address=address, phone=phone, web=web
            ),
        ]
    )


def complaint_satisfied(t: Translator, reference: str) -> str:
    return t._("Thank you. Complaint {reference} is now closed.").format(
        reference=isolate(reference)
    )


def complaint_ask_escalation_reason(t: Translator, chief_officer: str) -> str:
    return t._(
        "Please tell us why you are not happy with the answer. Write it below. "
        "It will go to the {chief}."
    ).format(chief=t._(chief_officer))


def complaint_escalation_check(
    t: Translator, reference: str, chief_officer: str, words: str
) -> str:
    return t._(
        "Please check. Complaint {reference} will go to the {chief} with your words: {words}"
    ).format(reference=isolate(reference), chief=t._(chief_officer), words=words)


def complaint_escalated(t: Translator, reference: str, chief_officer: str, reply_by: date) -> str:
    return t._(
        "Thank you. Complaint {reference} has been sent to the {chief}. "
        "You should get an answer by {date}."
    ).format(reference=isolate(reference), chief=t._(chief_officer), date=t.date(reply_by))


def complaint_escalation_too_late(t: Translator, chief_officer: str, address: str) -> str:
    return t._(
        "Sorry, the time to ask for this in the chat has passed. "
        "You can still write to the {chief} at: {address}"
    ).format(chief=t._(chief_officer), address=address)


# --- Rights, conditions, another format ------------------------------------------------------

BUTTON_RIGHTS_DISCRIMINATION = N_("Tell us about discrimination")
BUTTON_RIGHTS_UNFAIR = N_("Complain about unfair treatment")
BUTTON_OTHER_FORMAT = N_("Another language or format")


def rights(t: Translator, spo: str, chief: str, area_phone: str, area_address: str) -> str:
    return _with_notice(t, _rights(t, spo, chief, area_phone, area_address))


def _rights(t: Translator, spo: str, chief: str, area_phone: str, area_address: str) -> str:
    return "\n\n".join(
        [
            t._("Your rights"),
            t._(
                "You will be treated fairly. Nobody may treat you badly because of your race, "
                "sex or anything else about you. You must treat others fairly too."
            ),
            t._(
                "If staff or group members treat you badly because of who you are, tell your "
                "Offender Manager."
            ),
            t._(
                "If you feel you were treated unfairly, you can complain to the {spo}. "
                "For help, call {phone}."
            ).format(spo=t._(spo), phone=area_phone),
            t._(
                "If you are not happy with the answer, you can write to the {chief} at: {address}"
            ).format(chief=t._(chief), address=area_address),
            t._("You can do all of this here. Tap a button below."),
        ]
    )


def translation_notice(t: Translator) -> str | None:
    """One line under the rules and rights while nobody qualified has checked the translation."""
    if t.reviewed:
        return None
    return t._(
        "This is a translation. If it is not clear, the English version is the one that counts."
    )


def _with_notice(t: Translator, text: str) -> str:
    notice = translation_notice(t)
    return f"{text}\n\n{notice}" if notice else text


def language_choose(t: Translator) -> str:
    return t._("Which language do you want? Tap one below.")


def language_offer(t: Translator) -> str:
    return t._("I will write to you in this language. To change it, tap one below.")


def language_saved(t: Translator) -> str:
    return _with_notice(t, t._("OK. I will write to you in this language from now on."))


def language_buttons(translators: list[Translator], prefix: str) -> dict[str, Any]:
    """Each language by its own name, two to a row."""
    buttons = [(each.own_name, f"{prefix}:{each.language}") for each in translators]
    return inline([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def conditions(t: Translator) -> str:
    return _with_notice(t, _conditions(t))


def _conditions(t: Translator) -> str:
    return "\n".join(
        [
            t._("What you agreed to"),
            t._("- Come on time and stay to the end."),
            t._("- Come with a clear head: no drugs, alcohol or solvents."),
            t._("- Turn off your mobile phone."),
            t._("- Take part in the exercises."),
            t._("- Treat staff and other group members with respect. Do not use rude words."),
            t._("- Keep private what others say in the group."),
            t._("- Talk about your offending in the group."),
        ]
    )


FORMAT_LABELS = {
    "large_print": N_("Large print"),
    "braille": N_("Braille"),
    "audio": N_("Audio"),
    "easy_read": N_("Easy read"),
    "language": N_("Another language"),
}


def format_choose(t: Translator) -> str:
    return t._("How would you like the information? Tap one below.")


def format_ask_language(t: Translator) -> str:
    return t._("Which language would you like? Write its name below.")


def format_received(t: Translator, reference: str) -> str:
    return t._(
        "Thank you. Your request has been sent to the Contracts Officer. "
        "Your reference is {reference}. We will tell you here when it is ready."
    ).format(reference=isolate(reference))


def format_done(t: Translator, reference: str, words: str | None) -> str:
    text = t._("Update about your request {reference}.\n\nIt has been dealt with.").format(
        reference=isolate(reference)
    )
    if words:
        text += "\n\n" + t._("Message: {message}").format(message=words)
    return text


def staff_new_item(t: Translator, dashboard_url: str | None) -> str:
    if dashboard_url:
        # Translators: staff notice (sent to staff in English only), not for participants.
        return t._("New item in your queue: {url}").format(url=dashboard_url)
    # Translators: staff notice (sent to staff in English only), not for participants.
    return t._("New item in your queue.")


def staff_overdue(t: Translator, count: int) -> str:
    # Translators: staff notice (sent to staff in English only), not for participants.
    return t.ngettext(
        "You have {n} complaint past its deadline. Please look at your queue.",
        "You have {n} complaints past their deadline. Please look at your queue.",
        count,
    ).format(n=count)
