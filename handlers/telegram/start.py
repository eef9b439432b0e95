"""`/start`, with an enrolment code from a deep link or typed by hand."""

from telegram import Update

from handlers.telegram.context import CompanionContext, inbound


async def start(update: Update, context: CompanionContext) -> None:
    """Link this phone with a code, or greet / explain how to get a code."""
    # Typed codes may be split by a space ("/start 7K3QX 9M2PA"); join what follows /start.
    code = "".join(context.args or []) or None
    await context.chat.start(inbound(update), code)
