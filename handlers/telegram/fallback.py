"""Everything no feature handled: a polite answer that changes nothing."""

from telegram import Update

from handlers.telegram.context import CompanionContext, inbound

# Telegram's own limit for one message; each conversation step checks its own, shorter one.
MAX_TEXT_LENGTH = 4096


async def unknown_command(update: Update, context: CompanionContext) -> None:
    """A command we do not have."""
    await context.chat.unknown_command(inbound(update))


async def text(update: Update, context: CompanionContext) -> None:
    """Free text outside any conversation."""
    message = update.effective_message
    if message is not None and message.text is not None and len(message.text) > MAX_TEXT_LENGTH:
        await context.chat.too_long(inbound(update))
    elif message is not None and message.text is not None:
        await context.chat.free_text(inbound(update), message.text)


async def other_content(update: Update, context: CompanionContext) -> None:
    """Stickers, photos, voice notes, locations... that no feature asked for."""
    await context.chat.unsupported_content(inbound(update))


async def button(update: Update, context: CompanionContext) -> None:
    """An inline button: the service acts on it, or says it is stale."""
    query = update.callback_query
    if query is None:
        return
    notice = await context.chat.button(inbound(update), query.data or "")
    # Always answer, so the button stops spinning on his phone.
    await query.answer(notice)
