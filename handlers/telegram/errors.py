"""The error handler: log what failed without logging what a participant wrote."""

import logging

from telegram import Update

from handlers.telegram.context import CompanionContext

log = logging.getLogger(__name__)


async def log_error(update: object, context: CompanionContext) -> None:
    """Log the update id and the exception; message text is personal data and stays out."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
