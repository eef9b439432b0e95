"""The main menu: progress, contacts and help, by command or by button."""

from telegram import Update
from telegram.ext import filters

from bot.i18n import Catalogs
from bot.messages import MENU_ACTIONS
from handlers.telegram.context import CompanionContext, inbound


async def progress(update: Update, context: CompanionContext) -> None:
    """Sessions done, catch-ups, next session and Offender Manager."""
    await context.chat.progress(inbound(update))


async def contacts(update: Update, context: CompanionContext) -> None:
    """The area's contacts and his Offender Manager's."""
    await context.chat.contacts(inbound(update))


async def help_command(update: Update, context: CompanionContext) -> None:
    """One sentence per command."""
    await context.chat.help(inbound(update))


async def reminders(update: Update, context: CompanionContext) -> None:
    """Choose which session reminders to get."""
    await context.chat.reminders(inbound(update))


async def language(update: Update, context: CompanionContext) -> None:
    """Choose the language he reads."""
    await context.chat.language(inbound(update))


async def complaint(update: Update, context: CompanionContext) -> None:
    """Raise a complaint or concern."""
    await context.chat.complaint_start(inbound(update))


async def complaints_list(update: Update, context: CompanionContext) -> None:
    """His complaints and where each one is."""
    await context.chat.complaints_list(inbound(update))


async def rights(update: Update, context: CompanionContext) -> None:
    """His rights, with buttons into each route."""
    await context.chat.rights(inbound(update))


async def conditions(update: Update, context: CompanionContext) -> None:
    """What he agreed to."""
    await context.chat.conditions(inbound(update))


async def format_request(update: Update, context: CompanionContext) -> None:
    """Ask for the information in another language or format."""
    await context.chat.format_start(inbound(update))


def menu_button_filter(catalogs: Catalogs) -> filters.MessageFilter:
    """Matches a main menu button's label in any language we speak."""
    labels = [label for message in MENU_ACTIONS for label in catalogs.all_translations(message)]
    return filters.Text(labels)


async def menu_button(update: Update, context: CompanionContext) -> None:
    """A pressed reply-keyboard button: route by its label."""
    text = update.effective_message.text if update.effective_message else None
    for label, action in MENU_ACTIONS.items():
        if text in context.chat.catalogs.all_translations(label):
            await _BY_ACTION[action](update, context)
            return


async def absence(update: Update, context: CompanionContext) -> None:
    """Start reporting an absence."""
    await context.chat.absence_start(inbound(update))


_BY_ACTION = {
    "absence": absence,
    "complaint": complaint,
    "rights": rights,
    "progress": progress,
    "contacts": contacts,
    "help": help_command,
    "language": language,
}
