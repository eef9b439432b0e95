"""His choices: /reminders (the evening before, on the day, both, none) and /language."""

from __future__ import annotations

from bot import messages
from bot.db.models import Participant
from bot.services.context import ServiceContext, audit
from bot.services.turns import Turn

PREFIX = "rem"
LANGUAGE_PREFIX = "lng"
_SETTINGS = {
    "both": (True, True),
    "evening": (True, False),
    "before": (False, True),
    "none": (False, False),
}


def _current(participant: Participant) -> str:
    chosen = (participant.reminder_evening, participant.reminder_before)
    return next(name for name, setting in _SETTINGS.items() if setting == chosen)


def show(ctx: ServiceContext, turn: Turn, participant: Participant) -> None:
    t = turn.t
    rows = [[(t._(label), f"{PREFIX}:{name}")] for name, label in messages.REMINDER_CHOICES.items()]
    text = messages.reminders_choose(t, _current(participant), ctx.profile.reminders.hours_before)
    turn.reply(text, messages.inline(rows))


def press(turn: Turn, participant: Participant, data: str) -> bool:
    """Save his choice; the buttons carry the whole choice, so an old one still works."""
    choice = data.removeprefix(f"{PREFIX}:")
    if choice not in _SETTINGS:
        return False
    participant.reminder_evening, participant.reminder_before = _SETTINGS[choice]
    audit(
        turn.session,
        f"participant:{participant.id}",
        "participant.reminders",
        f"participant:{participant.id}",
        choice=choice,
    )
    turn.reply(messages.reminders_saved(turn.t, choice), messages.main_menu(turn.t))
    return True


def show_languages(ctx: ServiceContext, turn: Turn) -> None:
    buttons = messages.language_buttons(ctx.catalogs.translators(), LANGUAGE_PREFIX)
    turn.reply(messages.language_choose(turn.t), buttons)


def offer_languages(ctx: ServiceContext, turn: Turn) -> None:
    """On his first contact, when his phone's language was chosen for him: say so, and let
    him pick another."""
    buttons = messages.language_buttons(ctx.catalogs.translators(), LANGUAGE_PREFIX)
    turn.reply(messages.language_offer(turn.t), buttons)


def press_language(ctx: ServiceContext, turn: Turn, participant: Participant, data: str) -> bool:
    """Save his language; everything sent to him from now on uses it."""
    code = ctx.catalogs.match(data.removeprefix(f"{LANGUAGE_PREFIX}:"))
    if code is None:
        return False
    participant.language = code
    audit(
        turn.session,
        f"participant:{participant.id}",
        "participant.language",
        f"participant:{participant.id}",
        language=code,
    )
    turn.t = ctx.catalogs.translator(code)
    turn.reply(messages.language_saved(turn.t), messages.main_menu(turn.t))
    return True
