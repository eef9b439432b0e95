"""Photos and documents: taken as a sick note when he has an illness absence."""

from telegram import Update

from bot.services.sick_notes import IncomingFile
from handlers.telegram.context import CompanionContext, inbound


async def sick_note(update: Update, context: CompanionContext) -> None:
    message = update.effective_message
    if message is None:
        return
    if message.photo:
        largest = message.photo[-1]  # Telegram lists sizes smallest first
        incoming = IncomingFile(largest.file_id, None, "image/jpeg", largest.file_size)
    elif message.document is not None:
        document = message.document
        incoming = IncomingFile(
            document.file_id, document.file_name, document.mime_type, document.file_size
        )
    else:
        return
    await context.chat.sick_note(inbound(update), incoming)
