"""Telegram transport: one ordered registration of every handler."""

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.telegram import errors, fallback, files, groups, menu, start
from handlers.telegram.context import CompanionContext

__all__ = ["CompanionContext", "register"]

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler in the order they must be tried."""
    # Group -1 runs first: anything from a group or channel is answered once and stops there.
    application.add_handler(TypeHandler(Update, groups.leave_non_private), group=-1)

    chat = application.bot_data["chat"]
    application.add_handlers(
        [
            CommandHandler("start", start.start, filters=PRIVATE),
            CommandHandler("absence", menu.absence, filters=PRIVATE),
            CommandHandler("progress", menu.progress, filters=PRIVATE),
            CommandHandler("contacts", menu.contacts, filters=PRIVATE),
            CommandHandler("help", menu.help_command, filters=PRIVATE),
            CommandHandler("reminders", menu.reminders, filters=PRIVATE),
            CommandHandler("complaint", menu.complaint, filters=PRIVATE),
            CommandHandler("complaints", menu.complaints_list, filters=PRIVATE),
            CommandHandler("rights", menu.rights, filters=PRIVATE),
            CommandHandler("conditions", menu.conditions, filters=PRIVATE),
            CommandHandler("format", menu.format_request, filters=PRIVATE),
            CommandHandler("language", menu.language, filters=PRIVATE),
            MessageHandler(PRIVATE & menu.menu_button_filter(chat.catalogs), menu.menu_button),
            MessageHandler(
                PRIVATE & (filters.PHOTO | filters.Document.ALL), files.photo_or_document
            ),
            # Fallbacks last: they catch whatever no feature above claimed.
            MessageHandler(PRIVATE & filters.COMMAND, fallback.unknown_command),
            MessageHandler(PRIVATE & filters.TEXT, fallback.text),
            MessageHandler(PRIVATE, fallback.other_content),
            CallbackQueryHandler(fallback.button),
        ],
        group=0,
    )
    application.add_error_handler(errors.log_error)
