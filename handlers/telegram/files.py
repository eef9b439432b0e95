"""Photos and documents: evidence for a complaint being written, or a sick note."""

from telegram import Update

from bot.services.incoming_files import IncomingFile
from handlers.telegram.context import CompanionContext, inbound


async def photo_or_document(update: Update, context: CompanionContext) -> None:
    message = update.effective_message
    if message is None:
        return
    if message.photo:
        largest = message.photo[-1]  # Telegram lists sizes smallest first
        incoming = IncomingFile(
            largest.file_id, None, "image/jpeg", largest.file_size, message.caption
        )
    elif message.document is not None:
        document = message.document
        incoming = IncomingFile(
            document.file_id,
            document.file_name,
            document.mime_type,
            document.file_size,
            message.caption,
        )
    else:
        return
    await context.chat.file(inbound(update), incoming)
