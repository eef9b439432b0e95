"""The framework's ceiling: a minimal python-telegram-bot echo bot.

    python -m bench.echo_bot API_URL TOKEN

Long polling with PTB's defaults, one handler that sends each text back. No database, no
outbox: what the bot could do if handling an update cost nothing.
"""

from __future__ import annotations

import sys

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def main(api: str, token: str) -> None:
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0.0, timeout=10, allowed_updates=[Update.MESSAGE])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
