"""Everything no feature handled: a polite answer that changes nothing."""

from telegram import Update

from handlers.telegram.context import CompanionContext, inbound

# Longer than any answer a later conversation step asks for; refused rather than stored.
MAX_TEXT_LENGTH = 1000


async def unknown_command(update: Update, context: CompanionContext) -> None:
    """A command we do not have."""
    await context.chat.unknown_command(inbound(update))


async def text(update: Update, context: CompanionContext) -> None:
    """Free text outside any conversation."""
    message = update.effective_message
    if message is not None and message.text is not None and len(message.text) > MAX_TEXT_LENGTH:
        await context.chat.too_long(inbound(update))
    else:
        await context.chat.not_understood(inbound(update))


async def other_content(update: Update, context: CompanionContext) -> None:
    """Stickers, photos, voice notes, locations... that no feature asked for."""
    await context.chat.unsupported_content(inbound(update))


async def stale_button(update: Update, context: CompanionContext) -> None:
    """An inline button from an old message that no feature handles any more."""
    query = update.callback_query
    if query is not None:
        t = context.chat.catalogs.translator(
            query.from_user.language_code if query.from_user else None
        )
        await query.answer(t._("This button does not work any more."))
